/**
 * Burn-rate alerts at the edges: windows end at the last complete 10-second bucket, so a page fires
 * at the exact crossing and never before it; and `keel slo evaluate` acts on the caller's tenant only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { SERVICE, applyYaml, ratioSlo, settled, status } from './fixtures.js';

const S = 1000;
const H = 3_600_000;
const T = Date.parse('2026-06-01T12:00:00Z'); // a 10-second bucket boundary
const clock = new FakeClock(T);
let t: TestKeel;
let betaKey: string;

interface Ev {
  ts: number;
  service: string;
  status: number;
}
const ev = (ts: number, ok: boolean): Ev => ({ ts, service: 'checkout', status: ok ? 200 : 503 });

async function send(key: string, list: Ev[]): Promise<void> {
  for (let i = 0; i < list.length; i += 2000) {
    const r = await http(`${t.url}/v1/events`, { key, body: ndjson(list.slice(i, i + 2000)), headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status, r.text).toBe(202);
    expect(r.body.accepted, r.text).toBe(Math.min(2000, list.length - i));
  }
}

// The exact trailing hour [T − 1h, T) holds 2,500 events, 36 of them bad: 36 / 2,500 / 0.001 is a
// burn rate of exactly 14.4, which does not exceed the page threshold. Its first 10-second bucket
// holds 50 good events; a window that ended inside the current bucket would have dropped them
// (36 / 2,450 = 14.69) and paged early. Five more hours of good traffic keep the 6 h rule quiet
// (36 / 6,500 = 5.5 < 6).
const events: Ev[] = [];
for (let i = 0; i < 4000; i++) events.push(ev(T - 6 * H + i * 4 * S, true));
for (let i = 0; i < 50; i++) events.push(ev(T - H + i * 100, true));
for (let i = 0; i < 2414; i++) events.push(ev(T - H + 10 * S + i * 1400, true));
for (let i = 0; i < 36; i++) events.push(ev(T - 300 * S + i * 5 * S, false));

const pages = async (tenant: string) => (await t.keel.ctx.alerts.transitionsAfter(0, 1000)).filter((x) => x.tenant === tenant && x.dedupKey === 'slo/checkout/default/page').map((x) => x.status);

beforeAll(async () => {
  // The background evaluator runs at start (before any SLO exists), then not within this test.
  t = await startTestKeel({ slo: { evaluationInterval: '1d' }, log: { retention: { maxAge: '400d' } } }, { clock });
  expect((await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'beta' } })).status).toBe(201);
  betaKey = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'beta', scopes: ['admin'] } })).body.key as string;
  const yaml = `${SERVICE}---\n${ratioSlo('checkout', { target: 0.999 })}`;
  expect((await applyYaml(t.url, t.adminKey, yaml)).status).toBe(200);
  expect((await applyYaml(t.url, betaKey, yaml)).status).toBe(200);
  await send(t.adminKey, events);
  await send(betaKey, events);
  await settled(t.url, t.adminKey);
  clock.set(T + 2 * S);
});
afterAll(async () => t?.close());

describe('alert windows end at the last complete bucket', () => {
  it('does not page inside a bucket on a burn rate that only a partial bucket pushes over the threshold', async () => {
    const s = await status(t.url, t.adminKey, 'checkout');
    expect(s.window.end).toBe(new Date(T).toISOString());
    const hour = s.objectives[0].burnRates.find((b: { window: string }) => b.window === '1h');
    expect(hour).toMatchObject({ totalEvents: 2500, badEvents: 36 });
    expect(hour.burnRate).toBeCloseTo(14.4, 9);
    expect((await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    expect(await pages('default')).toEqual([]);
  });

  it('pages once the bucket that crosses the threshold is complete, and evaluates only the caller’s tenant', async () => {
    clock.set(T + 3 * S);
    await send(t.adminKey, [ev(T + 3 * S, false)]);
    await send(betaKey, [ev(T + 3 * S, false)]);
    await settled(t.url, t.adminKey);
    clock.set(T + 9 * S);
    await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey });
    expect(await pages('default')).toEqual([]);
    clock.set(T + 10 * S);
    // Another tenant's admin evaluates its own SLOs, not the default tenant's.
    const beta = await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: betaKey });
    expect(beta.status).toBe(200);
    expect(beta.body).toMatchObject({ evaluated: 1, transitions: 2 });
    expect(await pages('beta')).toEqual(['firing']);
    expect(await pages('default')).toEqual([]);
    const own = await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey });
    expect(own.body).toMatchObject({ evaluated: 1 });
    expect(await pages('default')).toEqual(['firing']);
    // [T − 1h + 10 s, T + 10 s): 37 bad of 2,451.
    const hour = (await status(t.url, t.adminKey, 'checkout')).objectives[0].burnRates.find((b: { window: string }) => b.window === '1h');
    expect(hour).toMatchObject({ totalEvents: 2451, badEvents: 37 });
  });

  it('sees a target changed in place at the next evaluation, though the same evaluator evaluated the SLO before', async () => {
    // The same 37 bad of 2,451 in the hour against a 1 % budget: burn rate 1.5, no page.
    expect((await applyYaml(t.url, t.adminKey, `${SERVICE}---\n${ratioSlo('checkout', { target: 0.99 })}`)).status).toBe(200);
    expect((await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    expect(await pages('default')).toEqual(['firing', 'resolved']);
    const page = (await http(`${t.url}/v1/slos/checkout/alerts`, { key: t.adminKey })).body.alerts.find((a: { dedupKey: string }) => a.dedupKey === 'slo/checkout/default/page');
    expect(page).toMatchObject({ status: 'resolved', values: { target: 0.99 } });
    expect(await pages('beta')).toEqual(['firing']);
  });
});
