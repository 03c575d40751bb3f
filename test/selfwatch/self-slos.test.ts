/**
 * Keel's own SLOs and alerts about itself, on a real process and its real SQLite data dir:
 * - the built-in SLOs exist in tenant keel-system after start and count real ingest traffic (a
 *   4xx is good, a 503 is bad: the log is pushed over `log.maxBytes`, so ingest really refuses);
 * - a burn of ingest availability pages the escalation policy named in selfMonitoring through a
 *   real webhook receiver;
 * - an audit entry altered behind Keel's back opens an incident in keel-system whose alert and
 *   page carry the runbook link;
 * - configuration disables one SLO (removed, as a new version by the system) or everything.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { http, ndjson } from '../helpers/keel.js';
import { startReceiver, waitFor, type Receiver } from '../helpers/paging.js';

const work = mkdtempSync(join(tmpdir(), 'keel-self-slos-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function configFile(name: string, yaml: string): string {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

const FAST = `
slo: {evaluationInterval: 500ms}
paging: {pollInterval: 50ms, delivery: {maxAttempts: 2, initialBackoff: 20ms, maxBackoff: 50ms, timeout: 2s}}
`;

async function systemKey(k: KeelProcess): Promise<string> {
  const r = await http(`${k.url}/v1/keys`, { key: k.adminKey, json: { tenant: 'keel-system', scopes: ['admin'], name: 'self-monitoring' } });
  expect(r.status, r.text).toBe(201);
  return r.body.key as string;
}

async function send(k: KeelProcess, body: string, contentType = 'application/x-ndjson') {
  return http(`${k.url}/v1/events`, { key: k.adminKey, headers: { 'content-type': contentType }, body });
}

async function sloEvents(k: KeelProcess, key: string, name: string): Promise<{ good: number; total: number }> {
  const r = await http(`${k.url}/v1/slos`, { key });
  expect(r.status, r.text).toBe(200);
  const slo = (r.body.slos as { name: string; objectives: { events: { good: number; total: number } }[] }[]).find((s) => s.name === name);
  return slo?.objectives[0]?.events ?? { good: -1, total: -1 };
}

async function sloNames(k: KeelProcess, key: string): Promise<string[]> {
  const r = await http(`${k.url}/v1/slos`, { key });
  expect(r.status, r.text).toBe(200);
  return (r.body.slos as { name: string }[]).map((s) => s.name).sort();
}

const ONCALL = (url: string) => `apiVersion: keel/v1
kind: User
metadata: {name: ops}
spec:
  email: ops@example.com
  name: Ops Person
  contactMethods:
    - {name: hook, type: webhook, url: "${url}/oncall", signingSecret: oncall-hook}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: keel-oncall}
spec: {steps: [{notify: {users: [ops]}, wait: 1h}]}
`;

describe('Keel’s own SLOs', () => {
  let rx: Receiver;
  let keel: KeelProcess;
  let sk: string;

  beforeAll(async () => {
    rx = await startReceiver();
    const config = configFile(
      'burn',
      `${FAST}
log: {maxBytes: 30000}
selfMonitoring: {escalationPolicy: keel-oncall, flushInterval: 200ms, auditVerifyInterval: 500ms, slos: {ingest-latency: {thresholdMs: 60000}}}
`,
    );
    keel = await spawnKeel({ args: ['--config', config] });
    sk = await systemKey(keel);
  }, 60_000);
  afterAll(async () => {
    await keel?.stop();
    keel?.cleanup();
    await rx?.close();
  });

  it('start says loudly that the named escalation policy does not exist yet, and doctor warns', async () => {
    expect(keel.stderr()).toContain('selfMonitoring.escalationPolicy names "keel-oncall", which is not defined in the keel-system tenant');
    const r = await http(`${keel.url}/v1/doctor`, { key: keel.adminKey });
    expect(r.status).toBe(200);
    const paging = (r.body.checks as { name: string; status: string; message: string }[]).find((c) => c.name === 'self.paging');
    expect(paging?.status).toBe('warn');
    expect(paging?.message).toContain('reach NOBODY');
  });

  it('the built-in SLOs exist in keel-system, versioned by the system', async () => {
    expect(await sloNames(keel, sk)).toEqual(['ingest-availability', 'ingest-latency', 'notification-delivery', 'notification-latency', 'processing-freshness']);
    const h = await http(`${keel.url}/v1/definitions/SLO/ingest-availability/history`, { key: sk });
    expect(h.status, h.text).toBe(200);
    expect(JSON.stringify(h.body)).toContain('system:self-monitoring');
    // The default tenant does not see them: they are Keel's, in keel-system.
    expect(await sloNames(keel, keel.adminKey)).toEqual([]);
  });

  it('counts real ingest answers (4xx good, 503 bad) and a burn pages the configured policy through its webhook', async () => {
    const secret = await http(`${keel.url}/v1/paging/secrets`, { key: sk, json: { name: 'oncall-hook', value: 'oncall-signing-secret' } });
    expect(secret.status, secret.text).toBe(200);
    const applied = await http(`${keel.url}/v1/definitions/apply`, { key: sk, json: { sources: [{ file: 'oncall.yaml', content: ONCALL(rx.url) }] } });
    expect(applied.status, applied.text).toBe(200);
    // The built-in Service picks the policy up once it exists.
    await waitFor('the keel service to name keel-oncall', async () => {
      const s = await http(`${keel.url}/v1/definitions/Service/keel`, { key: sk });
      return s.body?.spec?.escalationPolicy === 'keel-oncall';
    });
    const doctor = await http(`${keel.url}/v1/doctor`, { key: keel.adminKey });
    expect((doctor.body.checks as { name: string; status: string }[]).find((c) => c.name === 'self.paging')?.status).toBe('ok');

    for (let i = 0; i < 5; i++) expect((await send(keel, ndjson([{ service: 'checkout', i }]))).status).toBe(202);
    expect((await send(keel, 'x', 'text/plain')).status).toBe(415);
    expect((await http(`${keel.url}/v1/events`, { key: 'keel_not_a_key_0123456789abcdefghij', headers: { 'content-type': 'application/x-ndjson' }, body: '{}\n' })).status).toBe(401);
    await waitFor(
      '7 ingest answers counted, all good',
      async () => {
        const e = await sloEvents(keel, sk, 'ingest-availability');
        return e.total === 7 && e.good === 7;
      },
      30_000,
    );
    await waitFor('5 batches counted as fresh', async () => (await sloEvents(keel, sk, 'processing-freshness')).total === 5, 30_000);
    // Ingest latency counts the 202s only (not the 415 or the 401), each acknowledged well within 60 s.
    await waitFor('5 acknowledgements counted by ingest-latency', async () => (await sloEvents(keel, sk, 'ingest-latency')).total === 5, 30_000);
    expect(await sloEvents(keel, sk, 'ingest-latency')).toEqual({ good: 5, total: 5 });
    expect(rx.requests.filter((r) => r.path === '/oncall')).toEqual([]);

    // 31 KB in one batch takes the log over log.maxBytes: from then on ingest refuses with 503.
    const big = ndjson(Array.from({ length: 300 }, (_, i) => ({ service: 'checkout', padding: 'p'.repeat(80), i })));
    expect((await send(keel, big)).status).toBe(202);
    for (let i = 0; i < 12; i++) {
      const r = await send(keel, ndjson([{ service: 'checkout', refused: i }]));
      expect(r.status, r.text).toBe(503);
      expect(r.body.error.code).toBe('overloaded');
    }
    await waitFor(
      '12 of 20 ingest answers bad',
      async () => {
        const e = await sloEvents(keel, sk, 'ingest-availability');
        return e.total === 20 && e.good === 8;
      },
      30_000,
    );
    // The 503s are no acknowledgement: ingest-latency counted only the one more 202.
    await waitFor('6 acknowledgements counted by ingest-latency', async () => (await sloEvents(keel, sk, 'ingest-latency')).total === 6, 30_000);
    expect(await sloEvents(keel, sk, 'ingest-latency')).toEqual({ good: 6, total: 6 });

    const page = await waitFor('the ops person paged for ingest-availability', () => rx.requests.find((r) => r.path === '/oncall' && r.body?.event === 'incident.triggered'), 60_000);
    expect(page.body.incident.service).toBe('keel');
    expect(JSON.stringify(page.body.alerts)).toContain('ingest-availability');
    const incidents = await http(`${keel.url}/v1/incidents?service=keel&state=all`, { key: sk });
    expect(incidents.body.incidents.length).toBeGreaterThanOrEqual(1);
    // That page is itself a notification delivered: Keel's notification SLOs count it.
    await waitFor(
      'the delivered page counted by notification-delivery and -latency',
      async () => {
        const [delivery, latency] = [await sloEvents(keel, sk, 'notification-delivery'), await sloEvents(keel, sk, 'notification-latency')];
        return delivery.total >= 1 && delivery.good === delivery.total && latency.total >= 1;
      },
      30_000,
    );
  }, 180_000);

  it('an audit entry altered behind Keel’s back opens an incident in keel-system with the runbook link', async () => {
    const db = new SQLite(join(keel.dataDir, 'state.db'), { timeout: 10_000 });
    try {
      const changed = db.prepare("UPDATE audit_log SET action = action || '-altered' WHERE seq = (SELECT min(seq) FROM audit_log)").run();
      expect(changed.changes).toBe(1);
    } finally {
      db.close();
    }
    const page = await waitFor(
      'a page for the broken audit chain',
      () => rx.requests.find((r) => r.path === '/oncall' && r.body?.event === 'incident.triggered' && JSON.stringify(r.body.alerts).includes('KeelAuditChainBroken')),
      60_000,
    );
    expect(page.body.links).toContainEqual({ href: 'docs/runbooks/audit-chain-broken.md', text: 'Runbook' });
    const alert = (page.body.alerts as { labels: Record<string, string>; source: string; severity: string }[]).find((a) => a.labels.alertname === 'KeelAuditChainBroken');
    expect(alert?.labels.runbook_url).toBe('docs/runbooks/audit-chain-broken.md');
    expect(alert?.source).toBe('keel');
    expect(alert?.severity).toBe('critical');
    const incident = await http(`${keel.url}/v1/incidents/${page.body.incident.id}`, { key: sk });
    expect(incident.status, incident.text).toBe(200);
    expect(incident.body.service).toBe('keel');
  }, 120_000);
});

describe('self-monitoring configuration', () => {
  it('a disabled SLO is removed as a new version; selfMonitoring.enabled: false records and keeps nothing, and doctor says so', async () => {
    const dataDir = join(work, 'config-data');
    let keel = await spawnKeel({ dataDir, args: ['--config', configFile('on', `${FAST}selfMonitoring: {flushInterval: 200ms}\n`)] });
    const adminKey = keel.adminKey;
    let sk = '';
    try {
      expect(keel.stderr()).toContain('selfMonitoring.escalationPolicy is not set');
      sk = await systemKey(keel);
      expect(await sloNames(keel, sk)).toHaveLength(5);
    } finally {
      await keel.stop();
    }

    keel = await spawnKeel({
      dataDir,
      adminKey,
      args: ['--config', configFile('one-off', `${FAST}selfMonitoring: {flushInterval: 200ms, slos: {notification-latency: {enabled: false}, ingest-latency: {target: 0.95, thresholdMs: 250}}}\n`)],
    });
    try {
      expect(await sloNames(keel, sk)).toEqual(['ingest-availability', 'ingest-latency', 'notification-delivery', 'processing-freshness']);
      const latency = await http(`${keel.url}/v1/definitions/SLO/ingest-latency`, { key: sk });
      expect(latency.body.spec.objectives[0].target).toBe(0.95);
      expect(JSON.stringify(latency.body.spec.indicator)).toContain('latency_ms <= 250');
      const h = await http(`${keel.url}/v1/definitions/SLO/notification-latency/history`, { key: sk });
      expect(h.status, h.text).toBe(200);
      const versions = h.body.versions as { action: string; actor: string }[];
      expect(versions.map((v) => [v.action, v.actor])).toContainEqual(['delete', 'system:self-monitoring']);
    } finally {
      await keel.stop();
    }

    keel = await spawnKeel({ dataDir, adminKey, args: ['--config', configFile('off', `${FAST}selfMonitoring: {enabled: false, flushInterval: 200ms}\n`)] });
    try {
      expect(keel.stderr()).not.toContain('Keel self-monitoring');
      expect(await sloNames(keel, sk)).toEqual([]);
      const before = await http(`${keel.url}/v1/events?limit=10000`, { key: sk });
      for (let i = 0; i < 3; i++) expect((await send(keel, ndjson([{ i }]))).status).toBe(202);
      // Several flush intervals pass: nothing more is recorded.
      await new Promise((r) => setTimeout(r, 1500));
      const after = await http(`${keel.url}/v1/events?limit=10000`, { key: sk });
      expect(after.body.events.length).toBe(before.body.events.length);
      const doctor = await http(`${keel.url}/v1/doctor`, { key: adminKey });
      const self = (doctor.body.checks as { name: string; status: string; message: string }[]).find((c) => c.name === 'self.monitoring');
      expect(self).toEqual({ name: 'self.monitoring', status: 'warn', message: 'selfMonitoring.enabled is false: Keel records no SLOs of its own and raises no alerts about itself.' });
    } finally {
      await keel.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
