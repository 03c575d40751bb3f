/**
 * Breakdowns that find the cause: with region × route past the cap of combinations, per-attribute
 * marginals still count every region exactly, the ranking is by bad ratio against the SLO's (a small
 * region failing 12 % above a large one failing 1 %), and status says how much is in `__other__`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { SERVICE, applyYaml, ratioSlo, settled, status } from './fixtures.js';

const T = Date.parse('2026-06-01T12:00:00Z');
const clock = new FakeClock(T);
let t: TestKeel;

// 6,000 requests over the last 50 minutes, 30 routes, 10 regions: r0 carries 3,000 of them and
// fails 1 % (30 bad), r1 carries 300 and fails 12 % (36 bad), r2 carries 1,500 and fails 4 % (60
// bad), the other regions never fail. 126 bad of 6,000: the SLO's bad ratio is 2.1 %. By bad
// events r2 (60) would come before r1 (36).
const events: { ts: number; service: string; status: number; region: string; route: string }[] = [];
for (let i = 0; i < 6000; i++) {
  const region = i < 3000 ? 'r0' : i < 3300 ? 'r1' : i < 4800 ? 'r2' : `r${3 + (i % 7)}`;
  const bad = (region === 'r0' && i % 100 === 0) || (region === 'r1' && (i - 3000) % 25 < 3) || (region === 'r2' && (i - 3300) % 25 === 0);
  events.push({ ts: T - 3_000_000 + i * 500, service: 'checkout', status: bad ? 503 : 200, region, route: `/p${i % 30}` });
}

beforeAll(async () => {
  t = await startTestKeel({ slo: { maxBreakdownValues: 20 }, log: { retention: { maxAge: '400d' } } }, { clock });
  expect((await applyYaml(t.url, t.adminKey, `${SERVICE}---\n${ratioSlo('checkout', { breakdown: ['region', 'route'] })}`)).status).toBe(200);
  for (let i = 0; i < events.length; i += 1000) {
    const r = await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(events.slice(i, i + 1000)), headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.body.accepted).toBe(1000);
  }
  await settled(t.url, t.adminKey);
});
afterAll(async () => t?.close());

describe('SLO breakdowns', () => {
  it('rank the failing region first by bad ratio, from exact per-region counts, beyond the cap of combinations', async () => {
    expect(events.filter((e) => e.status >= 500).length).toBe(126);
    const o = (await status(t.url, t.adminKey, 'checkout')).objectives[0];
    expect(o.events).toEqual({ good: 5874, bad: 126, total: 6000 });
    expect(o.breakdownBaseline).toEqual({ badRatio: 0.021, minTotalEvents: 60 });
    expect(o.topBreakdown[0]).toEqual({ values: { region: 'r1' }, badEvents: 36, totalEvents: 300, badRatio: 0.12, lift: 5.714 });
    expect(o.topBreakdown.find((x: { values: Record<string, string> }) => JSON.stringify(x.values) === '{"region":"r2"}')).toEqual({
      values: { region: 'r2' },
      badEvents: 60,
      totalEvents: 1500,
      badRatio: 0.04,
      lift: 1.905,
    });
    // Region r0 fails less than the SLO as a whole: not a cause, however many bad events it has.
    expect(o.topBreakdown.some((x: { values: Record<string, string> }) => JSON.stringify(x.values) === '{"region":"r0"}')).toBe(false);
    expect(o.topBreakdown.every((x: { badRatio: number; totalEvents: number }) => x.badRatio > 0.021 && x.totalEvents >= 60)).toBe(true);
    // 300 combinations, 20 kept: the rest are in __other__, and status says how many bad events that is.
    const buckets = await http(`${t.url}/v1/slos/checkout/buckets?res=1d&breakdown=true`, { key: t.adminKey });
    const combos = (buckets.body.buckets as { good: number; total: number; breakdown?: { region: string; route: string } }[]).filter((b) => b.breakdown);
    const inOther = combos.filter((b) => b.breakdown!.region === '__other__').reduce((n, b) => n + b.total - b.good, 0);
    expect(new Set(combos.filter((b) => b.breakdown!.region !== '__other__').map((b) => `${b.breakdown!.region} ${b.breakdown!.route}`)).size).toBe(20);
    expect(inOther).toBeGreaterThan(0);
    expect(o.breakdownOther).toEqual({ badEvents: inOther, totalEvents: expect.any(Number), badShare: Math.round((inOther / 126) * 1e6) / 1e6 });
  });
});
