/**
 * Postmortems with the SLO engine's numbers: the error budget each SLO of the incident's service
 * lost during the incident, from the same counters `keel slo status` reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, type TestKeel } from '../helpers/keel.js';
import { FakeClock } from '../../src/core/clock.js';
import { apply, applyOk, startPagingKeel, waitFor } from '../helpers/paging.js';
import { settled } from '../slo/fixtures.js';

let t: TestKeel;

const SHOP = `apiVersion: openslo/v1
kind: Service
metadata: {name: shop}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: shop-availability}
spec:
  service: shop
  indicator:
    metadata: {name: shop-requests}
    spec:
      ratioMetric:
        counter: true
        total: {metricSource: {type: keel, spec: {query: 'service == "shop"'}}}
        good: {metricSource: {type: keel, spec: {query: 'status < 500'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: availability, target: 0.99}]
`;

beforeAll(async () => {
  t = await startPagingKeel();
  await applyOk(t, SHOP);
});
afterAll(async () => t?.close());

describe('SLO impact in postmortems', () => {
  it('reports the error budget each affected SLO lost during the incident', async () => {
    const before = Date.now() - 120_000;
    // Before the incident: 1000 good requests.
    const early = Array.from({ length: 1000 }, (_, i) => ({ ts: before + i, service: 'shop', status: 200 }));
    expect((await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(early), headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
    const declared = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'Shop errors', service: 'shop', severity: 'SEV2' } });
    expect(declared.status, declared.text).toBe(201);
    const openedAt = Date.parse(declared.body.opened_at as string);
    // During it: 1000 requests, 30 of them failing.
    const during = Array.from({ length: 1000 }, (_, i) => ({ ts: openedAt + 1 + (i % 500), service: 'shop', status: i < 30 ? 503 : 200 }));
    expect((await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(during), headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
    await waitFor('the SLO to count every event', async () => {
      const s = await http(`${t.url}/v1/slos/shop-availability`, { key: t.adminKey });
      return s.status === 200 && s.body.objectives?.[0]?.events?.total === 2000;
    });
    await new Promise((r) => setTimeout(r, Math.max(0, openedAt + 600 - Date.now())));
    expect((await http(`${t.url}/v1/incidents/${declared.body.id}/resolve`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    const pm = await http(`${t.url}/v1/incidents/${declared.body.id}/postmortem`, { method: 'POST', key: t.adminKey });
    expect(pm.status, pm.text).toBe(201);
    // 30 bad of the 2000 events in the 30-day window, whose budget is 2000 × 1% = 20 bad events.
    expect(pm.body.markdown).toContain('| shop-availability | 150.00% | 30 |');
  });
});

describe('SLO impact of an incident opened by a burn-rate page', () => {
  const T = Date.parse('2026-06-01T12:00:00Z');
  const M = 60_000;
  const clock = new FakeClock(T);
  let k: TestKeel;
  const send = async (list: Record<string, unknown>[]) => {
    const r = await http(`${k.url}/v1/events`, { key: k.adminKey, body: ndjson(list), headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.body.accepted, r.text).toBe(list.length);
  };

  beforeAll(async () => {
    k = await startPagingKeel({ slo: { evaluationInterval: '1d' }, log: { retention: { maxAge: '400d' } } }, { clock });
    const r = await apply(k, SHOP);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });
  afterAll(async () => k?.close());

  it('counts the bad events from the start of the burn that fired the page through resolution', async () => {
    // 10,000 good events over the five days before; then, from 40 minutes before the page, 600
    // events of which 300 fail (a burn rate of 50 over the 1 h and 6 h windows: both page rules fire).
    await send(Array.from({ length: 10_000 }, (_, i) => ({ ts: T - 5 * 24 * 60 * M + i * 40_000, service: 'shop', status: 200 })));
    await send(Array.from({ length: 600 }, (_, i) => ({ ts: T - 40 * M + i * 4000, service: 'shop', status: i % 2 ? 503 : 200 })));
    await settled(k.url, k.adminKey);
    expect((await http(`${k.url}/v1/slo-evaluations`, { method: 'POST', key: k.adminKey })).status).toBe(200);
    const incident = await waitFor('the page to open an incident', async () => {
      const list = await http(`${k.url}/v1/incidents`, { key: k.adminKey });
      return (list.body.incidents as { id: string; opened_at: string }[] | undefined)?.[0];
    });
    expect(incident.opened_at).toBe(new Date(T).toISOString());
    // During the incident: 100 events, 50 of them failing; it is resolved 10 minutes after it opened.
    clock.set(T + 5 * M);
    await send(Array.from({ length: 100 }, (_, i) => ({ ts: T + i * 3000, service: 'shop', status: i % 2 ? 503 : 200 })));
    await settled(k.url, k.adminKey);
    clock.set(T + 10 * M);
    expect((await http(`${k.url}/v1/incidents/${incident.id}/resolve`, { method: 'POST', key: k.adminKey })).status).toBe(200);
    const pm = await http(`${k.url}/v1/incidents/${incident.id}/postmortem`, { method: 'POST', key: k.adminKey });
    expect(pm.status, pm.text).toBe(201);
    // Counted from T − 6 h (the long window of page-6h-30m, the longest rule that fired) to the
    // resolution: 300 + 50 bad events. The 30-day window holds 10,700 events: a budget of 107.
    expect(pm.body.markdown).toContain('| shop-availability | 327.10% | 350 |');
    expect(pm.body.markdown).toContain('- shop-availability: counted from 2026-06-01T06:00:00Z, the start of the 6h window of page-6h-30m, which fired slo/shop-availability/default/page');
  });
});
