/**
 * Resolving an incident by hand resolves its alerts (PagerDuty's semantics), so a source that
 * still fires opens a new alert, a new incident and pages again, for every source: PagerDuty
 * Events v2, Alertmanager re-sends, and Keel's own SLO burn-rate alerts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { http, ndjson, type TestKeel } from '../helpers/keel.js';
import { alertmanagerBody, applyOk, eventsV2, integrationKey, personWithPolicy, startPagingKeel, startReceiver, waitFor, webhookSecrets, type Receiver } from '../helpers/paging.js';
import { ratioSlo, settled } from '../slo/fixtures.js';

let rx: Receiver;

const paging = (url: string) => `${personWithPolicy('ann', url)}---
apiVersion: keel/v1
kind: Service
metadata: {name: checkout}
spec: {escalationPolicy: ann}
`;

const pages = () => rx.requests.filter((r) => r.path === '/ann' && r.headers['x-keel-event'] === 'incident.triggered');
const incidentsOf = async (t: TestKeel) => (await http(`${t.url}/v1/incidents?service=checkout&state=all`, { key: t.adminKey })).body.incidents as any[];
const resolveByHand = async (t: TestKeel, id: string) => {
  const r = await http(`${t.url}/v1/incidents/${id}/resolve`, { method: 'POST', key: t.adminKey, json: { note: 'looks fine' } });
  expect(r.status, r.text).toBe(200);
};

beforeAll(async () => {
  rx = await startReceiver();
});
afterAll(async () => rx?.close());

describe('alerts from webhooks after a resolve by hand', () => {
  let t: TestKeel;
  beforeAll(async () => {
    t = await startPagingKeel();
    await webhookSecrets(t.url, t.adminKey, ['ann']);
    await applyOk(t, paging(rx.url));
  });
  afterAll(async () => t?.close());

  it('Events v2: the next trigger of the same dedup key opens a new alert and a new incident, and pages', async () => {
    rx.requests.length = 0;
    const key = await integrationKey(t, 'events-v2', 'checkout');
    const trigger = () => http(`${t.url}/v1/integrations/events-v2`, { json: eventsV2(key, { dedup_key: 'X' }) });
    expect((await trigger()).status).toBe(202);
    const first = await waitFor('the first page', () => pages()[0]);
    await resolveByHand(t, first.body.incident.id);
    // The incident's alert is resolved with it.
    const shown = (await http(`${t.url}/v1/incidents/${first.body.incident.id}`, { key: t.adminKey })).body;
    expect(shown.alerts.map((a: any) => a.status)).toEqual(['resolved']);
    expect((await trigger()).status).toBe(202);
    const second = await waitFor('a second page', () => pages()[1]);
    expect(second.body.incident.id).not.toBe(first.body.incident.id);
    const list = await incidentsOf(t);
    expect(
      list
        .filter((i) => i.title === 'Disk almost full on db-1')
        .map((i) => i.state)
        .sort(),
    ).toEqual(['resolved', 'triggered']);
    const alerts = ((await http(`${t.url}/v1/paging/alerts`, { key: t.adminKey })).body.alerts as any[]).filter((a) => a.dedup_key.endsWith('/X'));
    expect(alerts.map((a) => `${a.status} ${a.count}`).sort()).toEqual(['firing 1', 'resolved 1']);
    // The old incident's timeline says its alert was resolved with it, and by whom.
    const entry = await waitFor('the resolution in the timeline', async () =>
      ((await http(`${t.url}/v1/incidents/${first.body.incident.id}/timeline`, { key: t.adminKey })).body.timeline as any[]).find((e) => e.type === 'alert' && e.data.status === 'resolved'),
    );
    expect(entry).toMatchObject({ message: 'Alert resolved with the incident: Disk almost full on db-1', data: { by: expect.stringMatching(/^key:/) } });
  });

  it('Alertmanager: a repeat_interval re-send of a still firing alert pages again', async () => {
    // The service's alerts group into one open incident: start with none open.
    for (const i of await incidentsOf(t)) if (i.state === 'triggered') await resolveByHand(t, i.id);
    rx.requests.length = 0;
    const key = await integrationKey(t, 'alertmanager', 'checkout');
    const payload = alertmanagerBody([
      {
        status: 'firing',
        labels: { alertname: 'DiskFull', severity: 'critical' },
        annotations: { summary: 'Disk full on db-2' },
        startsAt: '2026-01-01T10:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: 'f00d',
      },
    ]);
    const send = () => http(`${t.url}/v1/integrations/alertmanager`, { key, json: payload });
    expect((await send()).status).toBe(200);
    const first = await waitFor('the first page', () => pages()[0]);
    await resolveByHand(t, first.body.incident.id);
    expect((await send()).body).toEqual({ alerts: 1, opened: 1, resolved: 0, updated: 0 });
    const second = await waitFor('a second page', () => pages()[1]);
    expect(second.body.incident.id).not.toBe(first.body.incident.id);
    expect(second.body.incident.title).toBe('Disk full on db-2');
  });
});

describe('SLO burn-rate alerts after a resolve by hand', () => {
  const T0 = Date.parse('2026-06-01T12:00:00Z');
  const clock = new FakeClock(T0);
  let t: TestKeel;
  beforeAll(async () => {
    t = await startPagingKeel({ slo: { evaluationInterval: '1h' } }, { clock });
    await webhookSecrets(t.url, t.adminKey, ['ann']);
    await applyOk(t, `${paging(rx.url)}---\n${ratioSlo('checkout-availability')}`);
  });
  afterAll(async () => t?.close());

  const send = async (from: number, n: number, failing: number) => {
    const events = Array.from({ length: n }, (_, i) => ({ ts: new Date(from + i * 100).toISOString(), service: 'checkout', status: i < failing ? 503 : 200 }));
    const r = await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(events), headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status, r.text).toBe(202);
    await settled(t.url, t.adminKey);
  };
  const evaluate = async () => expect((await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey })).status).toBe(200);

  it('an SLO alert still over its threshold at the next evaluation fires again, opens an incident and pages', async () => {
    rx.requests.length = 0;
    // 300 requests in the last minutes, 100 failing: a burn rate of 33 over 1 h and 5 m (> 14.4).
    await send(T0 - 120_000, 300, 100);
    clock.advance(60_000);
    await evaluate();
    const first = await waitFor('the first SLO page', () => pages()[0]);
    expect(first.body.alerts[0].source).toBe('slo');
    await resolveByHand(t, first.body.incident.id);
    const pm = await http(`${t.url}/v1/incidents/${first.body.incident.id}/postmortem`, { method: 'POST', key: t.adminKey });
    expect(pm.status, pm.text).toBe(201);
    expect((await http(`${t.url}/v1/incidents/${first.body.incident.id}/close`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    // A worse burst; the page alert is still over its threshold at the next evaluation.
    await send(T0 - 30_000, 200, 200);
    clock.advance(30_000);
    await evaluate();
    const second = await waitFor('a second SLO page', () => pages()[1]);
    expect(second.body.incident.id).not.toBe(first.body.incident.id);
    const list = await incidentsOf(t);
    expect(list.map((i) => i.state).sort()).toEqual(['closed', 'triggered']);
    // The SLO's own history shows the page alert firing twice.
    const hist = (await http(`${t.url}/v1/slos/checkout-availability/alerts`, { key: t.adminKey })).body.transitions as { alert: string; status: string }[];
    expect(hist.filter((x) => x.alert === '0/default/page').map((x) => x.status)).toEqual(['firing', 'firing']);
  });
});
