/**
 * Postmortems with the SLO engine's numbers: the error budget each SLO of the incident's service
 * lost during the incident, from the same counters `keel slo status` reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, type TestKeel } from '../helpers/keel.js';
import { applyOk, startPagingKeel, waitFor } from '../helpers/paging.js';

let t: TestKeel;

beforeAll(async () => {
  t = await startPagingKeel();
  await applyOk(
    t,
    `apiVersion: openslo/v1
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
`,
  );
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
