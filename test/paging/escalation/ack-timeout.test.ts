/**
 * Acknowledgement timeout (as PagerDuty's): an acknowledged incident whose alerts still fire returns
 * to triggered and pages again after the policy's `acknowledgementTimeout`; default off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { applyOk, eventsV2, integrationKey, startPagingKeel, startReceiver, userDoc, waitFor, webhookSecrets, type Receiver } from '../../helpers/paging.js';

const T0 = Date.parse('2026-05-04T10:00:00Z');
const clock = new FakeClock(T0);
let t: TestKeel;
let rx: Receiver;

const config = (url: string) => `${userDoc('ann', `${url}/ann`)}---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: patient}
spec: {acknowledgementTimeout: 30m, steps: [{notify: {users: [ann]}, wait: 1h}]}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: plain}
spec: {steps: [{notify: {users: [ann]}, wait: 1h}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: patient}
spec: {escalationPolicy: patient}
---
apiVersion: keel/v1
kind: Service
metadata: {name: plain}
spec: {escalationPolicy: plain}
`;

const pages = (incident: string) => rx.requests.filter((r) => r.path === '/ann' && r.headers['x-keel-event'] === 'incident.triggered' && r.body.incident.id === incident);
const open = async (service: string) => {
  const key = await integrationKey(t, 'events-v2', service);
  expect((await http(`${t.url}/v1/integrations/events-v2`, { json: eventsV2(key, { dedup_key: service }) })).status).toBe(202);
  const page = await waitFor(`the ${service} page`, () => rx.requests.find((r) => r.path === '/ann' && r.body.incident?.service === service));
  const id = page.body.incident.id as string;
  expect((await http(`${t.url}/v1/incidents/${id}/ack`, { method: 'POST', key: t.adminKey })).status).toBe(200);
  return id;
};
const state = async (id: string) => (await http(`${t.url}/v1/incidents/${id}`, { key: t.adminKey })).body.state as string;

beforeAll(async () => {
  rx = await startReceiver();
  t = await startPagingKeel({}, { clock });
  await webhookSecrets(t.url, t.adminKey, ['ann']);
  await applyOk(t, config(rx.url));
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('acknowledgement timeout', () => {
  it('returns an acknowledged incident whose alert still fires to triggered and pages again', async () => {
    const id = await open('patient');
    expect(pages(id)).toHaveLength(1);
    clock.advance(30 * 60_000);
    await waitFor('the second page', () => pages(id)[1]);
    expect(await state(id)).toBe('triggered');
    const tl = (await http(`${t.url}/v1/incidents/${id}/timeline?type=state`, { key: t.adminKey })).body.timeline as any[];
    expect(tl.map((e) => `${e.actor} ${e.data.from ?? ''}>${e.data.to ?? e.data.state}`)).toEqual([
      'integration:events-v2 >triggered',
      expect.stringMatching(/^key:\S+ triggered>acknowledged$/),
      'system acknowledged>triggered',
    ]);
    expect(tl[2].message).toBe('Triggered again: acknowledged 30m ago and its alerts still fire (acknowledgement timeout of patient)');
    // The acknowledgement time (MTTA) is kept.
    expect((await http(`${t.url}/v1/incidents/${id}`, { key: t.adminKey })).body.acknowledged_at).toBe(new Date(T0).toISOString());
  });

  it('is off by default, and canceled by resolving', async () => {
    const plain = await open('plain');
    const rows = await t.keel.store.db.selectFrom('ack_timeouts').selectAll().where('incident_id', '=', plain).execute();
    expect(rows).toEqual([]);
    const patient = await open('patient');
    expect((await http(`${t.url}/v1/incidents/${patient}/resolve`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    const timeout = await t.keel.store.db.selectFrom('ack_timeouts').selectAll().where('incident_id', '=', patient).executeTakeFirstOrThrow();
    expect(timeout.canceled_at).not.toBeNull();
    expect(timeout.fired_at).toBeNull();
  });
});
