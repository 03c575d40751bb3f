/**
 * `keel export prometheus-rules` for a tenant with many SLOs: `promtool check rules --lint-fatal`
 * accepts it (every rule carries its SLO's labels, so the same record name in two SLOs is not a
 * duplicate), period rules exist for dashboards, and the exported counters include backfilled events.
 * CI runs this (`.ci/run` installs promtool).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEL_BIN } from '../../src/bench/spawn-keel.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { SERVICE, applyYaml, ratioSlo, settled } from './fixtures.js';

const run = promisify(execFile);
let t: TestKeel;
const dir = mkdtempSync(join(tmpdir(), 'keel-prom-'));

const THRESHOLD = `apiVersion: openslo/v1
kind: SLO
metadata:
  name: latency
spec:
  service: checkout
  indicator:
    metadata:
      name: latency-sli
    spec:
      thresholdMetric:
        metricSource:
          type: keel
          spec:
            query: latency_ms
            filter: service == "checkout"
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar:
        startTime: "2026-01-01 00:00:00"
        timeZone: Europe/Berlin
  budgetingMethod: Occurrences
  objectives:
    - displayName: fast
      op: lte
      value: 300
      target: 0.9
    - displayName: ok
      op: lt
      value: 1000
      target: 0.99
  alertPolicies:
    - alertPolicyRef: strict
    - alertPolicyRef: default
`;
const POLICY = `apiVersion: openslo/v1
kind: AlertCondition
metadata:
  name: fast-burn
spec:
  severity: page
  condition: {kind: burnrate, op: gte, threshold: 10, lookbackWindow: 1h, alertAfter: 5m}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: strict
spec:
  alertWhenBreaching: true
  alertWhenNoData: true
  conditions:
    - conditionRef: fast-burn
`;
const NAMES = ['checkout-30d', 'checkout-7d', 'search-7d', 'checkout-1h', 'checkout-28d', 'latency'];

beforeAll(async () => {
  t = await startTestKeel();
  // Events first: every SLO below is backfilled from them.
  const events = Array.from({ length: 300 }, (_, i) => ({ ts: Date.now() - 60_000 + i * 100, service: i % 3 ? 'checkout' : 'search', status: i % 10 ? 200 : 503, latency_ms: i * 7 }));
  expect((await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(events), headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
  const slos = [
    SERVICE,
    POLICY,
    ratioSlo('checkout-30d'),
    ratioSlo('checkout-7d', { window: '7d' }),
    ratioSlo('search-7d', { window: '7d', total: 'service == "search"', target: 0.95 }),
    ratioSlo('checkout-1h', { window: '1h' }),
    ratioSlo('checkout-28d', { window: '28d', method: 'RatioTimeslices', objectives: '    - target: 0.8\n      timeSliceWindow: 1m\n' }),
    THRESHOLD,
  ].join('---\n');
  const r = await applyYaml(t.url, t.adminKey, slos);
  expect(r.status, r.text).toBe(200);
  await settled(t.url, t.adminKey);
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Prometheus rules for a tenant with many SLOs', () => {
  it('pass promtool check rules --lint-fatal, with SLO labels on every rule and period rules', async () => {
    const out = join(dir, 'rules.yaml');
    const r = await run(process.execPath, [KEEL_BIN, '--url', t.url, '--api-key', t.adminKey, 'export', 'prometheus-rules', '--output', out]);
    expect(r.stderr).toContain(`wrote ${out}`);
    const check = await run('promtool', ['check', 'rules', '--lint-fatal', out]).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(`promtool refused the rules:\n${e.stdout}${e.stderr}`);
    });
    expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/);
    const doc = YAML.parse((await http(`${t.url}/v1/export/prometheus-rules`, { key: t.adminKey })).text) as {
      groups: { name: string; rules: { record?: string; alert?: string; labels?: Record<string, string> }[] }[];
    };
    expect(doc.groups.map((g) => g.name).sort()).toEqual(NAMES.map((n) => `keel-slo-default-${n}`).sort());
    for (const g of doc.groups) {
      const slo = g.name.replace('keel-slo-default-', '');
      for (const rule of g.rules) expect(rule.labels, `${g.name} ${rule.record ?? rule.alert}`).toMatchObject({ tenant: 'default', slo });
      const records = new Set(g.rules.map((x) => x.record));
      for (const name of ['keel_slo:objective:ratio', 'keel_slo:error_budget:ratio', 'keel_slo:period_burn_rate:ratio', 'keel_slo:period_error_budget_remaining:ratio']) {
        expect(records.has(name), `${g.name} ${name}`).toBe(true);
      }
    }
    const latency = doc.groups.find((g) => g.name === 'keel-slo-default-latency')!;
    expect(latency.rules.filter((x) => x.record === 'keel_slo:objective:ratio').map((x) => x.labels!.objective)).toEqual(['0', '1']);
  }, 120_000);

  it('export counters that include the backfilled events', async () => {
    const metrics = (await http(`${t.url}/metrics`, { key: t.adminKey })).text;
    const value = (slo: string, good: string) => Number(new RegExp(`keel_slo_events_total\\{tenant="default",slo="${slo}",objective="0",good="${good}"\\} (\\d+)`).exec(metrics)?.[1]);
    // 300 events, 200 of them checkout; every tenth fails (i % 10 == 0, and of those i % 3 != 0 are checkout).
    const checkoutBad = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 3 !== 0 && i % 10 === 0).length;
    expect(value('checkout-30d', 'false')).toBe(checkoutBad);
    expect(value('checkout-30d', 'true')).toBe(200 - checkoutBad);
    expect(value('search-7d', 'true') + value('search-7d', 'false')).toBe(100);
  });
});
