/**
 * A capacity alert pages like any alert: a team routes its limits' alerts to a service whose
 * policy pages a person, a Limit crosses 95 % of its capacity, and the person is paged on a new
 * incident carrying the limit's summary (the issue: "routes, pages, opens incidents").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, type TestKeel } from '../helpers/keel.js';
import { apply, startPagingKeel, startReceiver, userDoc, waitFor, type Receiver } from '../helpers/paging.js';

let t: TestKeel;
let rx: Receiver;
let admin: string;
let ingest: string;

const definitions = (url: string) => `${userDoc('ann', `${url}/ann`)}---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: capacity-oncall}
spec: {steps: [{notify: {users: [ann]}, wait: 1h}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: capacity-ops}
spec: {escalationPolicy: capacity-oncall, pageSeverities: [critical]}
---
apiVersion: keel/v1
kind: Route
metadata: {name: limits}
spec: {order: 10, matchers: ['condition="utilisation"'], service: capacity-ops}
---
apiVersion: keel/v1
kind: Limit
metadata: {name: seats}
spec:
  title: Licence seats
  unit: seats
  filter: 'metric == "seats"'
  usage: {field: used, aggregate: max}
  capacity: 100
`;

beforeAll(async () => {
  rx = await startReceiver();
  t = await startPagingKeel({ capacity: { sampleInterval: '300ms' } });
  admin = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'] } })).body.key;
  ingest = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['ingest'] } })).body.key;
  expect((await http(`${t.url}/v1/paging/secrets`, { key: admin, json: { name: 'ann-hook', value: 's1' } })).status).toBe(200);
  const applied = await apply(t, definitions(rx.url), 'acme.yaml', admin);
  expect(applied.status, applied.text).toBe(200);
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('a capacity alert', () => {
  it('at 96 % of a limit pages the person on call for the service its route names, on a new incident', async () => {
    const sent = await http(`${t.url}/v1/events`, { method: 'POST', key: ingest, body: ndjson([{ metric: 'seats', used: 96 }]), headers: { 'content-type': 'application/x-ndjson' } });
    expect(sent.status).toBe(202);
    const incident = await waitFor('the capacity incident', async () => (await http(`${t.url}/v1/incidents?service=capacity-ops&state=all`, { key: admin })).body.incidents[0]);
    expect(incident).toMatchObject({ service: 'capacity-ops', state: 'triggered', escalation_policy: 'capacity-oncall', paged_nobody: null });
    expect(incident.title).toBe('Licence seats is at 96.0 % of its capacity (96 of 100 seats); raise the capacity of this resource or move load away from it');
    const pageToAnn = await waitFor('the page to ann', () => rx.requests.find((r) => r.path === '/ann' && r.raw.includes(incident.id)));
    expect(pageToAnn.raw).toContain('Licence seats is at 96.0 % of its capacity');
    const detail = (await http(`${t.url}/v1/incidents/${incident.id}`, { key: admin })).body as { alerts: { dedup_key: string; severity: string; status: string }[] };
    expect(detail.alerts).toEqual([expect.objectContaining({ dedup_key: 'capacity:limit.acme.seats:utilisation', severity: 'critical', status: 'firing' })]);
  });

  it('of a Limit that is deleted resolves, and the limit leaves the report', async () => {
    const listed = async () => ((await http(`${t.url}/v1/capacity`, { key: admin })).body.limits as { id: string }[]).map((l) => l.id);
    expect(await listed()).toContain('limit.acme.seats');
    expect((await http(`${t.url}/v1/definitions/Limit/seats`, { method: 'DELETE', key: admin })).status).toBe(200);
    const alert = await waitFor('the limit alert to resolve', async () => {
      const alerts = (await http(`${t.url}/v1/paging/alerts?limit=200`, { key: admin })).body.alerts as { dedup_key: string; status: string }[];
      const a = alerts.find((x) => x.dedup_key === 'capacity:limit.acme.seats:utilisation');
      return a?.status === 'resolved' ? a : undefined;
    });
    expect(alert.status).toBe('resolved');
    expect(await listed()).not.toContain('limit.acme.seats');
    expect((await http(`${t.url}/v1/capacity/limits/limit.acme.seats`, { key: admin })).status).toBe(404);
  });
});
