/**
 * /metrics names no tenant, SLO or person without a credential (issue 10, item 5): anonymous
 * scrapes get the labels that could name someone summed away or left out; the metrics token
 * (Prometheus `authorization`) or a system admin's key get everything.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { publicExposition } from '../../src/telemetry/public-metrics.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';

const TOKEN = 'metrics-token-0123456789abcdef0123456789abcdef';

/** Families without identifying labels pass through as they are. */
const UNCHANGED = [
  '# HELP keel_log_bytes Bytes.',
  '# TYPE keel_log_bytes gauge',
  'keel_log_bytes 1234',
  '',
  '# HELP keel_cluster_leader Leader.',
  '# TYPE keel_cluster_leader gauge',
  'keel_cluster_leader{leadership="usage-retention"} 1',
  '',
];

describe('publicExposition', () => {
  it('sums counters and histograms over identifying labels, leaves out such gauges, keeps the rest', () => {
    const full = [
      '# HELP keel_pages_total People paged.',
      '# TYPE keel_pages_total counter',
      'keel_pages_total{tenant="acme",user="alice@acme.test"} 2',
      'keel_pages_total{tenant="beta",user="bob@beta.test"} 3',
      '',
      '# HELP keel_ingest_events_total Events.',
      '# TYPE keel_ingest_events_total counter',
      'keel_ingest_events_total{tenant="acme",outcome="accepted",reason=""} 5',
      'keel_ingest_events_total{tenant="beta",outcome="accepted",reason=""} 7',
      'keel_ingest_events_total{tenant="beta",outcome="rejected",reason="invalid_json"} 1',
      '',
      '# HELP keel_incident_mtta_seconds Mean time to acknowledge.',
      '# TYPE keel_incident_mtta_seconds gauge',
      'keel_incident_mtta_seconds{tenant="acme",service="checkout"} 210',
      '',
      '# HELP keel_t Time to ack.',
      '# TYPE keel_t histogram',
      'keel_t_bucket{le="60",tenant="acme",service="a"} 1',
      'keel_t_bucket{le="60",tenant="beta",service="b"} 2',
      'keel_t_bucket{le="+Inf",tenant="acme",service="a"} 3',
      'keel_t_bucket{le="+Inf",tenant="beta",service="b"} 4',
      'keel_t_sum{tenant="acme",service="a"} 0.5',
      'keel_t_sum{tenant="beta",service="b"} 1.25',
      'keel_t_count{tenant="acme",service="a"} 3',
      'keel_t_count{tenant="beta",service="b"} 4',
      '',
      ...UNCHANGED,
    ].join('\n');
    expect(publicExposition(full)).toBe(
      [
        '# HELP keel_pages_total People paged.',
        '# TYPE keel_pages_total counter',
        'keel_pages_total 5',
        '',
        '# HELP keel_ingest_events_total Events.',
        '# TYPE keel_ingest_events_total counter',
        'keel_ingest_events_total{outcome="accepted",reason=""} 12',
        'keel_ingest_events_total{outcome="rejected",reason="invalid_json"} 1',
        '',
        '# HELP keel_incident_mtta_seconds Mean time to acknowledge.',
        '# TYPE keel_incident_mtta_seconds gauge',
        '',
        '# HELP keel_t Time to ack.',
        '# TYPE keel_t histogram',
        'keel_t_bucket{le="60"} 3',
        'keel_t_bucket{le="+Inf"} 7',
        'keel_t_sum 1.75',
        'keel_t_count 7',
        '',
        ...UNCHANGED,
      ].join('\n'),
    );
  });

  it('keeps escaped quotes inside label values it keeps', () => {
    const text = '# HELP m M.\n# TYPE m counter\nm{reason="a \\"b\\"",tenant="x"} 1\nm{reason="a \\"b\\"",tenant="y"} 2\n';
    expect(publicExposition(text)).toBe('# HELP m M.\n# TYPE m counter\nm{reason="a \\"b\\""} 3\n');
  });
});

describe('GET /metrics', () => {
  let t: TestKeel;
  let teamAdmin: string;
  beforeAll(async () => {
    t = await startTestKeel({ security: { metrics: { token: TOKEN } } });
    const key = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'secret-customer', scopes: ['ingest'] } })).body.key;
    teamAdmin = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'secret-customer', scopes: ['admin'] } })).body.key;
    const sent = await http(`${t.url}/v1/events`, { method: 'POST', key, body: ndjson([{ a: 1 }, { b: 2 }]), headers: { 'content-type': 'application/x-ndjson' } });
    expect(sent.status).toBe(202);
  });
  afterAll(async () => t?.close());

  it('names no tenant without credentials, and stays valid exposition that Prometheus accepts', async () => {
    const m = await http(`${t.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.text).not.toContain('secret-customer');
    expect(m.text).not.toMatch(/tenant="/);
    expect(m.text).toMatch(/^keel_ingest_events_total\{outcome="accepted",reason=""\} 2$/m);
    expect(m.text).toMatch(/keel_http_request_duration_seconds_bucket\{le="[^"]+",method="POST",route="\/v1\/events",status="202"\} \d+/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: m.text });
    const problems = (check.stderr.toString() + check.stdout.toString()).split('\n').filter((l) => l.trim() && !l.startsWith('nodejs_'));
    expect(problems).toEqual([]);
  });

  it('gives a team’s own key the same public view (other tenants are not its business)', async () => {
    const m = await http(`${t.url}/metrics`, { key: teamAdmin });
    expect(m.status).toBe(200);
    expect(m.text).not.toMatch(/tenant="/);
  });

  it('names tenants for the metrics token and for a system admin key', async () => {
    for (const headers of [{ authorization: `Bearer ${TOKEN}` }, { authorization: `Bearer ${t.adminKey}` }]) {
      const m = await http(`${t.url}/metrics`, { headers });
      expect(m.status).toBe(200);
      expect(m.text).toMatch(/^keel_ingest_events_total\{tenant="secret-customer",outcome="accepted",reason=""\} 2$/m);
    }
  });

  it('refuses a wrong bearer with 401, so a misconfigured scrape is a failed target', async () => {
    const m = await http(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` } });
    expect(m.status).toBe(401);
    expect(m.body.error.message).toMatch(/metrics token/);
  });
});

describe('the metrics token setting', () => {
  it('comes from KEEL_METRICS_TOKEN, and a short one is refused naming the setting and the limit', () => {
    const dataDir = '/nonexistent/keel-metrics-token-test';
    expect(loadConfig({ env: { KEEL_METRICS_TOKEN: TOKEN }, overrides: { dataDir } }).security.metrics.token).toBe(TOKEN);
    expect(() => loadConfig({ env: { KEEL_METRICS_TOKEN: 'short' }, overrides: { dataDir } })).toThrow(/security\.metrics\.token: at least 32 characters/);
  });

  it('a token with a space or line break is refused: a scrape could never present it as its bearer', () => {
    const dataDir = '/nonexistent/keel-metrics-token-test';
    for (const token of [`${TOKEN.slice(0, 20)} ${TOKEN.slice(20)}`, `${TOKEN}\n`]) {
      expect(() => loadConfig({ env: { KEEL_METRICS_TOKEN: token }, overrides: { dataDir } })).toThrow(/security\.metrics\.token: no spaces or line breaks/);
    }
  });
});
