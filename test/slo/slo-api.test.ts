import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { KEEL_BIN } from '../../src/bench/spawn-keel.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { SERVICE, applyYaml, ratioSlo, settled, status } from './fixtures.js';

const run = promisify(execFile);
const T0 = Date.parse('2026-06-01T12:00:00Z');
const clock = new FakeClock(T0);
const dataDir = mkdtempSync(join(tmpdir(), 'keel-slo-api-'));
const settings = { slo: { maxBreakdownValues: 3 }, log: { retention: { maxAge: '400d' } } };
let t: TestKeel;

const REGIONS = ['r1', 'r2', 'r3', 'r4', 'r5'];
interface Ev {
  ts: string;
  service: string;
  status: number;
  region: string;
  latency_ms: number;
}
const events: Ev[] = [];
// Two hours of checkout traffic, one event every 720 ms: region r1 fails from 90 to 60 minutes
// ago, everything fails in the last ten minutes (a page: burn rate > 14.4 over 1 h and 5 m).
for (let i = 0; i < 10_000; i++) {
  const at = T0 - 7_200_000 + i * 720;
  const region = i < 3 ? REGIONS[i]! : REGIONS[i % 5]!;
  const failing = at >= T0 - 600_000 || (region === 'r1' && at >= T0 - 5_400_000 && at < T0 - 3_600_000);
  events.push({ ts: new Date(at).toISOString(), service: i % 10 === 9 ? 'search' : 'checkout', status: failing ? 503 : 200, region, latency_ms: (i * 37) % 700 });
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [KEEL_BIN, '--url', t.url, '--api-key', t.adminKey, ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(async () => {
  t = await startTestKeel(settings, { clock, dataDir });
  expect((await applyYaml(t.url, t.adminKey, `${SERVICE}---\n${ratioSlo('checkout', { breakdown: ['region'] })}`)).status).toBe(200);
  for (let i = 0; i < events.length; i += 1000) {
    const r = await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(events.slice(i, i + 1000)), headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.body.accepted).toBe(1000);
  }
  await settled(t.url, t.adminKey);
});
afterAll(async () => {
  await t?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const checkout = events.filter((e) => e.service === 'checkout');

describe('SLO status', () => {
  it('counts every matching event once, with the budget, burn rates and the breakdown that hurts most', async () => {
    const s = await status(t.url, t.adminKey, 'checkout');
    const o = s.objectives[0];
    const bad = checkout.filter((e) => e.status >= 500).length;
    expect(o.events).toEqual({ good: checkout.length - bad, bad, total: checkout.length });
    expect(o.sli).toBeCloseTo((checkout.length - bad) / checkout.length, 8);
    expect(o.errorBudget.total).toBeCloseTo(checkout.length * 0.01, 4);
    expect(o.errorBudget.remainingPercent).toBeCloseTo((1 - bad / (checkout.length * 0.01)) * 100, 2);
    const fiveMin = o.burnRates.find((b: { window: string }) => b.window === '5m');
    const inFive = checkout.filter((e) => Date.parse(e.ts) >= T0 - 300_000);
    expect(fiveMin.totalEvents).toBe(inFive.length);
    expect(fiveMin.burnRate).toBeCloseTo(inFive.filter((e) => e.status >= 500).length / inFive.length / 0.01, 4);
    const r1 = checkout.filter((e) => e.region === 'r1');
    const r1Bad = r1.filter((e) => e.status >= 500).length;
    expect(o.topBreakdown[0]).toMatchObject({ values: { region: 'r1' }, badEvents: r1Bad, totalEvents: r1.length });
    expect(o.topBreakdown[0].badRatio).toBeCloseTo(r1Bad / r1.length, 6);
    // r2 and r3 fail only in the last ten minutes, less than the SLO as a whole: not listed.
    expect(o.topBreakdown.length).toBe(1);
    // r4 and r5 are past the cap of 3 values: their bad events are counted in __other__.
    const other = checkout.filter((e) => e.region === 'r4' || e.region === 'r5');
    expect(o.breakdownOther).toEqual({ badEvents: other.filter((e) => e.status >= 500).length, totalEvents: other.length, badShare: expect.any(Number) });
    expect(bad).toBeGreaterThan(checkout.length * 0.01);
    expect(o.forecast).toMatchObject({ exhausted: true, exhaustsInSeconds: 0 });
    // The SLO was created at T0 and the log holds events from two hours before: 2 h of 30 days.
    expect(s.window.coverage).toEqual({ from: '2026-06-01T10:00:00.000Z', percent: 0.28, complete: false });
  });

  it('lists each objective with its burn rates over the alert windows (the console’s SLO list)', async () => {
    const list = (await http(`${t.url}/v1/slos`, { key: t.adminKey })).body.slos as { name: string; objectives: { burnRates: { window: string; burnRate: number }[] }[] }[];
    const rates = list.find((s) => s.name === 'checkout')!.objectives[0]!.burnRates;
    // The default policy's windows (page 1h/5m, 6h/30m; ticket 1d/2h, 3d/6h), shortest first.
    expect(rates.map((r) => r.window)).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
    const burn = (ms: number) => {
      const inside = checkout.filter((e) => Date.parse(e.ts) >= T0 - ms);
      return inside.filter((e) => e.status >= 500).length / inside.length / 0.01;
    };
    // Everything failed in the last ten minutes: 100 % bad over a 1 % budget.
    expect(rates.find((r) => r.window === '5m')!.burnRate).toBeCloseTo(100, 4);
    expect(rates.find((r) => r.window === '1h')!.burnRate).toBeCloseTo(burn(3_600_000), 4);
    // The same figures as the SLO's own status.
    const s = await status(t.url, t.adminKey, 'checkout');
    expect(rates).toEqual(s.objectives[0].burnRates.map((b: { window: string; burnRate: number }) => ({ window: b.window, burnRate: b.burnRate })));
  });

  it('says the window is complete when the history reaches back to its start', async () => {
    expect((await applyYaml(t.url, t.adminKey, ratioSlo('checkout-hourly', { window: '1h' }))).status).toBe(200);
    await settled(t.url, t.adminKey);
    const s = await status(t.url, t.adminKey, 'checkout-hourly');
    expect(s.window.coverage).toEqual({ from: '2026-06-01T11:00:00.000Z', percent: 100, complete: true });
  });

  it('keeps breakdown totals exact beyond the cap of distinct values (__other__)', async () => {
    const r = await http(`${t.url}/v1/slos/checkout/buckets?res=1d&breakdown=true`, { key: t.adminKey });
    const byRegion = new Map<string, number>();
    let overall = 0;
    for (const b of r.body.buckets as { total: number; breakdown?: { region: string } }[]) {
      if (!b.breakdown) overall += b.total;
      else byRegion.set(b.breakdown.region, (byRegion.get(b.breakdown.region) ?? 0) + b.total);
    }
    expect([...byRegion.keys()].sort()).toEqual(['__other__', 'r1', 'r2', 'r3']);
    expect([...byRegion.values()].reduce((a, b) => a + b, 0)).toBe(overall);
    expect(byRegion.get('__other__')).toBe(checkout.filter((e) => e.region === 'r4' || e.region === 'r5').length);
  });

  it('serves time series for charts', async () => {
    const r = await http(`${t.url}/v1/slos/checkout/series?from=${T0 - 3_600_000}&to=${T0}&step=30m`, { key: t.adminKey });
    expect(r.status).toBe(200);
    const points = r.body.objectives[0].points;
    expect(points.map((p: { t: string }) => p.t)).toEqual(['2026-06-01T11:00:00.000Z', '2026-06-01T11:30:00.000Z', '2026-06-01T12:00:00.000Z']);
    const before = checkout.filter((e) => Date.parse(e.ts) < T0 - 3_600_000);
    const goodBefore = before.filter((e) => e.status < 500).length;
    expect(points[0].events).toEqual({ good: goodBefore, total: before.length });
    expect(points[0].sli).toBeCloseTo(goodBefore / before.length, 8);
    expect(points[2].burnRates['5m']).toBeGreaterThan(14.4);
  });

  it('backfills a new SLO from the retained events at once', async () => {
    const latency = `apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: checkout-latency\nspec:\n  service: checkout\n  indicator:\n    metadata:\n      name: lat\n    spec:\n      thresholdMetric:\n        metricSource:\n          type: keel\n          spec:\n            query: latency_ms\n            filter: service == "checkout"\n  timeWindow:\n    - duration: 7d\n      isRolling: true\n  budgetingMethod: Occurrences\n  objectives:\n    - displayName: p-300\n      op: lte\n      value: 300\n      target: 0.5\n    - displayName: p-600\n      op: lt\n      value: 600\n      target: 0.8\n`;
    expect((await applyYaml(t.url, t.adminKey, latency)).status).toBe(200);
    await settled(t.url, t.adminKey);
    const s = await status(t.url, t.adminKey, 'checkout-latency');
    expect(s.backfill).toMatchObject({ state: 'done', percent: 100, events: events.length });
    expect(s.objectives[0].events.good).toBe(checkout.filter((e) => e.latency_ms <= 300).length);
    expect(s.objectives[1].events.good).toBe(checkout.filter((e) => e.latency_ms < 600).length);
    expect(s.objectives[1].events.total).toBe(checkout.length);
    const b = await cli('slo', 'backfill', 'status', 'checkout-latency');
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/checkout-latency\s+done\s+100%/);
  });
});

describe('burn-rate alerts', () => {
  // The burn-rate alerts (the no-data alert, which fires once the test's traffic stops, is tested in test/paging/no-data.test.ts).
  const transitions = async () => (await t.keel.ctx.alerts.transitionsAfter(0, 1000)).filter((x) => x.dedupKey.startsWith('slo/checkout/') && !x.dedupKey.endsWith('/nodata'));

  it('fires page and ticket alerts into the alert pipeline with the values that caused them', async () => {
    const r = await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey });
    expect(r.status).toBe(200);
    const list = await transitions();
    expect(list.map((x) => [x.dedupKey, x.status]).sort()).toEqual([
      ['slo/checkout/default/page', 'firing'],
      ['slo/checkout/default/ticket', 'firing'],
    ]);
    const page = list.find((x) => x.dedupKey.endsWith('/page'))!;
    const cond = (page.values.conditions as { name: string; burnRateLong: number; burnRateShort: number; active: boolean }[]).find((c) => c.name === 'page-1h-5m')!;
    expect(cond.active).toBe(true);
    expect(cond.burnRateLong).toBeGreaterThan(14.4);
    const alert = await t.keel.ctx.alerts.get('default', page.alertId);
    expect(alert).toMatchObject({ source: 'slo', severity: 'page', service: 'checkout', status: 'firing', labels: { slo: 'checkout', policy: 'default' } });
    const s = await status(t.url, t.adminKey, 'checkout');
    expect(
      s.alerts
        .filter((a: { status: string }) => a.status === 'firing')
        .map((a: { severity: string }) => a.severity)
        .sort(),
    ).toEqual(['page', 'ticket']);
    await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey });
    expect((await transitions()).length).toBe(2);
  });

  it('does not fire again after a restart, and resolves once the burning stops', async () => {
    await t.close();
    t = await startTestKeel(settings, { clock, dataDir });
    await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey });
    expect((await transitions()).length).toBe(2);
    // The ticket's short window is 6 h: it resolves once no failure is left in it.
    clock.advance(3 * 3_600_000);
    await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey });
    expect((await transitions()).map((x) => `${x.dedupKey} ${x.status}`)).toContain('slo/checkout/default/page resolved');
    expect((await transitions()).map((x) => `${x.dedupKey} ${x.status}`)).not.toContain('slo/checkout/default/ticket resolved');
    clock.advance(4 * 3_600_000);
    await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey });
    const list = await transitions();
    expect(
      list
        .filter((x) => x.status === 'resolved')
        .map((x) => x.dedupKey)
        .sort(),
    ).toEqual(['slo/checkout/default/page', 'slo/checkout/default/ticket']);
    const hist = await http(`${t.url}/v1/slos/checkout/alerts`, { key: t.adminKey });
    expect(hist.body.transitions.filter((x: { alert: string }) => !x.alert.endsWith('/nodata')).map((x: { alert: string; status: string }) => `${x.alert} ${x.status}`)).toEqual([
      '0/default/ticket resolved',
      '0/default/page resolved',
      '0/default/ticket firing',
      '0/default/page firing',
    ]);
    // Each transition names its policy, severity and the dedup key the alert pipeline shows.
    expect(hist.body.transitions.find((x: { alert: string; status: string }) => x.alert === '0/default/page' && x.status === 'firing')).toMatchObject({
      objective: 0,
      policy: 'default',
      severity: 'page',
      dedupKey: 'slo/checkout/default/page',
    });
    // The CLI names each transition by that dedup key, newest first.
    const shown = await cli('slo', 'alerts', 'checkout');
    expect(shown.code).toBe(0);
    const lines = shown.stdout.split('\n').filter((l) => /^  \d{4}-/.test(l) && !l.includes('/nodata'));
    expect(lines.map((l) => l.trim().split(/\s+/).slice(1, 3).join(' '))).toEqual([
      'slo/checkout/default/ticket resolved',
      'slo/checkout/default/page resolved',
      'slo/checkout/default/ticket firing',
      'slo/checkout/default/page firing',
    ]);
  });
});

describe('Prometheus and the CLI', () => {
  it('exports per-SLO counters and rules that promtool accepts', async () => {
    const metrics = await http(`${t.url}/metrics`, { key: t.adminKey });
    expect(metrics.text).toMatch(/keel_slo_events_total\{tenant="default",slo="checkout",objective="0",good="false"\}/);
    const dir = mkdtempSync(join(tmpdir(), 'keel-rules-'));
    try {
      const out = join(dir, 'rules.yaml');
      const r = await cli('export', 'prometheus-rules', '--output', out);
      expect(r.code).toBe(0);
      const check = await run('promtool', ['check', 'rules', out]).catch((e: { stdout: string; stderr: string }) => {
        throw new Error(e.stdout + e.stderr);
      });
      expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('shows SLOs with keel slo list/status, --json, and exit codes', async () => {
    const list = await cli('slo', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+SERVICE\s+OBJECTIVE/);
    expect(list.stdout).toMatch(/checkout-latency\s+checkout\s+p-300/);
    const json = await cli('slo', 'status', 'checkout', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).objectives[0].events.total).toBe(checkout.length);
    const human = await cli('slo', 'status', 'checkout');
    expect(human.stdout).toMatch(/objective availability: target 99%/);
    expect(human.stdout, human.stdout).toMatch(/region=r1: [\d.]+% bad \([\d,]+ of [\d,]+, [\d.]+x\)/);
    expect(human.stdout).toMatch(/__other__ \(combinations past the cap\): \d+ bad of \d+/);
    // Seven hours later (the alert tests moved the clock): 9 h of 30 days.
    expect(human.stdout).toContain(
      'history: events from 2026-06-01T10:00:00.000Z only, 1.25% of the window (Keel holds no older events for this SLO: the SLI and budget cover only this part of the window)',
    );
    expect((await cli('slo', 'status', 'nope')).code).toBe(1);
    expect((await cli('slo', 'status')).code).toBe(2);
    const down = await run(process.execPath, [KEEL_BIN, '--url', 'http://127.0.0.1:9', 'slo', 'list']).catch((e: { code: number }) => e);
    expect((down as { code: number }).code).toBe(3);
  }, 180_000);
});
