import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, type TestKeel } from '../../helpers/keel.js';
import { applyOk, eventsV2, integrationKey, startPagingKeel, waitFor } from '../../helpers/paging.js';

let t: TestKeel;
let amKey: string;
let evKey: string;
let hbKey: string;

const amPayload = (status: 'firing' | 'resolved', alerts: { fingerprint: string; name: string; status?: 'firing' | 'resolved' }[]) => ({
  version: '4',
  groupKey: '{}:{alertname="x"}',
  truncatedAlerts: 0,
  status,
  receiver: 'keel',
  groupLabels: {},
  commonLabels: { job: 'api' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  alerts: alerts.map((a) => ({
    status: a.status ?? status,
    labels: { alertname: a.name, severity: 'critical', job: 'api' },
    annotations: { summary: `${a.name} is happening`, runbook_url: 'https://runbooks.example/x' },
    startsAt: '2026-01-01T10:00:00.123456789Z',
    endsAt: (a.status ?? status) === 'firing' ? '0001-01-01T00:00:00Z' : '2026-01-01T11:00:00Z',
    generatorURL: 'http://prometheus:9090/graph?g0.expr=up',
    fingerprint: a.fingerprint,
  })),
});

const am = (body: unknown, key?: string) =>
  http(`${t.url}/v1/integrations/alertmanager`, { ...(key ? { key } : {}), ...(typeof body === 'string' ? { body, headers: { 'content-type': 'application/json' } } : { json: body }) });
const ev = (body: unknown) => http(`${t.url}/v1/integrations/events-v2`, typeof body === 'string' ? { body, headers: { 'content-type': 'application/json' } } : { json: body });
const alerts = async () => (await http(`${t.url}/v1/paging/alerts?limit=1000`, { key: t.adminKey })).body.alerts as any[];

beforeAll(async () => {
  t = await startPagingKeel();
  await applyOk(
    t,
    `apiVersion: keel/v1
kind: Service
metadata: {name: api}
---
apiVersion: keel/v1
kind: Service
metadata: {name: batch}
`,
  );
  amKey = await integrationKey(t, 'alertmanager', 'api');
  evKey = await integrationKey(t, 'events-v2', 'api');
  hbKey = await integrationKey(t, 'heartbeat', 'batch');
});
afterAll(async () => t?.close());

describe('Alertmanager webhook', () => {
  it('opens, dedups by fingerprint and resolves', async () => {
    const first = await am(
      amPayload('firing', [
        { fingerprint: 'aaa111', name: 'HighErrorRate' },
        { fingerprint: 'bbb222', name: 'HighLatency' },
      ]),
      amKey,
    );
    expect(first.status, first.text).toBe(200);
    expect(first.body).toEqual({ alerts: 2, opened: 2, resolved: 0, updated: 0 });
    const again = await am(amPayload('firing', [{ fingerprint: 'aaa111', name: 'HighErrorRate' }]), amKey);
    expect(again.body).toEqual({ alerts: 1, opened: 0, resolved: 0, updated: 1 });
    const list = await alerts();
    const a = list.find((x) => x.summary === 'HighErrorRate is happening');
    expect(a).toMatchObject({ source: 'alertmanager', status: 'firing', severity: 'critical', count: 2, labels: { alertname: 'HighErrorRate', job: 'api' } });
    expect(a.dedup_key).toMatch(/^alertmanager\/int_\w+\/aaa111$/);
    const resolved = await am(amPayload('resolved', [{ fingerprint: 'aaa111', name: 'HighErrorRate' }]), amKey);
    expect(resolved.body).toEqual({ alerts: 1, opened: 0, resolved: 1, updated: 0 });
    expect((await alerts()).find((x) => x.summary === 'HighErrorRate is happening').status).toBe('resolved');
    // The alerts were routed to the key's service and opened an incident there.
    await waitFor('an api incident', async () => ((await http(`${t.url}/v1/incidents?service=api&state=all`, { key: t.adminKey })).body.incidents as any[]).length > 0);
  });

  it('authenticates with the integration key of its type', async () => {
    const body = amPayload('firing', [{ fingerprint: 'ccc', name: 'X' }]);
    const none = await am(body);
    expect(none.status).toBe(401);
    expect(none.body.error.message).toMatch(/Authorization: Bearer/);
    expect((await am(body, 'ki000000000000000000000000000000')).status).toBe(401);
    const wrongType = await am(body, evKey);
    expect(wrongType.status).toBe(403);
    expect(wrongType.body.error.message).toBe('this integration key is for events-v2, not alertmanager');
    // API keys are not integration keys.
    expect((await am(body, t.adminKey)).status).toBe(401);
    const k = await http(`${t.url}/v1/integrations`, { key: t.adminKey, json: { type: 'alertmanager', service: 'api', name: 'temp' } });
    const revoke = await http(`${t.url}/v1/integrations/${k.body.id}`, { method: 'DELETE', key: t.adminKey });
    expect(revoke.body.revoked_at).not.toBeNull();
    const revoked = await am(body, k.body.key);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toMatch(/revoked/);
  });

  it('refuses bad payloads with a 400 naming the field, and oversized ones with a 413', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...amPayload('firing', [{ fingerprint: 'a', name: 'x' }]), version: '3' }, /version: Keel accepts Alertmanager webhook payload version "4"/],
      [{ ...amPayload('firing', [{ fingerprint: 'a', name: 'x' }]), unexpected: 1 }, /unknown field\(s\): unexpected/],
      [{ ...amPayload('firing', []) }, /alerts: Too small/i],
      [{ ...amPayload('firing', [{ fingerprint: 'a', name: 'x' }]), alerts: [{ status: 'firing', labels: { a: 1 }, startsAt: '2026-01-01T00:00:00Z', fingerprint: 'a' }] }, /alerts\[0\]\.labels\.a/],
      [{ ...amPayload('firing', [{ fingerprint: 'a', name: 'x' }]), alerts: [{ status: 'firing', labels: {}, startsAt: 'yesterday', fingerprint: 'a' }] }, /alerts\[0\]\.startsAt: an RFC 3339 time/],
      [{ ...amPayload('firing', [{ fingerprint: 'a', name: 'x' }]), alerts: [{ status: 'firing', labels: {}, startsAt: '2026-01-01T00:00:00Z' }] }, /alerts\[0\]\.fingerprint/],
      ['{"version": "4",', /not valid JSON/],
    ];
    for (const [body, message] of cases) {
      const r = await am(body, amKey);
      expect(r.status, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(r.body.error.message).toMatch(message);
    }
    const empty = await http(`${t.url}/v1/integrations/alertmanager`, { key: amKey, method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(empty.status).toBe(400);
    const big = await am(`{"version":"4","pad":"${'x'.repeat(5 * 1024 * 1024)}"}`, amKey);
    expect(big.status).toBe(413);
    expect(big.body.error.message).toMatch(/larger than 4194304 bytes/);
  });
});

describe('PagerDuty Events API v2', () => {
  it('answers like PagerDuty, generating a dedup key when none is given', async () => {
    const r = await ev(eventsV2(evKey, { dedup_key: undefined }));
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ status: 'success', message: 'Event processed', dedup_key: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const same = await ev(eventsV2(evKey, { dedup_key: 'given' }));
    expect(same.body.dedup_key).toBe('given');
  });

  it('dedups per (routing key, dedup key)', async () => {
    const other = await integrationKey(t, 'events-v2', 'api');
    await ev(eventsV2(evKey, { dedup_key: 'shared', payload: { summary: 'Shared key A', source: 's', severity: 'info' } }));
    await ev(eventsV2(evKey, { dedup_key: 'shared', payload: { summary: 'Shared key A', source: 's', severity: 'info' } }));
    await ev(eventsV2(other, { dedup_key: 'shared', payload: { summary: 'Shared key B', source: 's', severity: 'info' } }));
    const list = (await alerts()).filter((a) => a.details === undefined && /Shared key/.test(a.summary));
    expect(list.map((a) => [a.summary, a.count]).sort()).toEqual([
      ['Shared key A', 2],
      ['Shared key B', 1],
    ]);
  });

  it('refuses invalid events with PagerDuty’s error shape, naming the fields', async () => {
    const cases: [unknown, string[]][] = [
      [eventsV2(evKey, { payload: { summary: 'x', source: 's' } }), ['payload.severity: is required']],
      [eventsV2(evKey, { payload: { summary: 'x', source: 's', severity: 'fatal' } }), ['payload.severity: must be one of critical, error, warning, info']],
      [eventsV2(evKey, { event_action: 'explode' }), ['event_action: must be one of trigger, acknowledge, resolve']],
      [eventsV2(evKey, { event_action: 'acknowledge', dedup_key: undefined, payload: undefined }), ['dedup_key: is required for acknowledge events']],
      [eventsV2(evKey, { payload: undefined }), ['payload: is required for trigger events']],
      [eventsV2('short'), ['routing_key: must be 32 characters (the integration key)']],
      [eventsV2(evKey, { payload: { summary: 'x'.repeat(1025), source: 's', severity: 'info' } }), ['payload.summary: Too big: expected string to have <=1024 characters']],
      [{ ...eventsV2(evKey), extra: true }, ['unknown field(s): extra']],
    ];
    for (const [body, errors] of cases) {
      const r = await ev(body);
      expect(r.status, JSON.stringify(body).slice(0, 120)).toBe(400);
      expect(r.body).toEqual({ status: 'invalid event', message: 'Event object is invalid', errors });
    }
    const bad = await ev('{not json');
    expect(bad.status).toBe(400);
    expect(bad.body.status).toBe('invalid event');
    expect(bad.body.errors[0]).toMatch(/^body is not valid JSON/);
    expect((await ev('[1,2]')).body.errors).toEqual(['body must be a JSON object (one event)']);
  });

  it('unknown routing keys are 404, keys of another type 403', async () => {
    const unknown = await ev(eventsV2('ki000000000000000000000000000000'));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: 'invalid event', message: 'Routing key not found', errors: ['routing_key: unknown integration key'] });
    const wrong = await ev(eventsV2(amKey));
    expect(wrong.status).toBe(403);
  });

  it('keeps integration keys sealed: never listed, never stored in plain text', async () => {
    const list = await http(`${t.url}/v1/integrations`, { key: t.adminKey });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(evKey);
    expect(list.body.integrations[0]).not.toHaveProperty('key');
    const rows = await t.keel.store.db.selectFrom('integration_keys').selectAll().execute();
    for (const r of rows) {
      expect(r.sealed).toMatch(/^v1:/);
      expect(JSON.stringify(r)).not.toContain(evKey);
    }
  });
});

describe('heartbeats', () => {
  it('a missed ping raises an alert; the next ping resolves it', async () => {
    const put = await http(`${t.url}/v1/heartbeats`, { key: t.adminKey, json: { name: 'nightly-backup', spec: { service: 'batch', interval: '1s', summary: 'Nightly backup did not report' } } });
    expect(put.status, put.text).toBe(200);
    const fired = await waitFor('the heartbeat alert', async () => (await alerts()).find((a) => a.source === 'heartbeat' && a.status === 'firing'));
    expect(fired).toMatchObject({ summary: 'Nightly backup did not report', severity: 'page', labels: { heartbeat: 'nightly-backup' } });
    expect((await http(`${t.url}/v1/heartbeats`, { key: t.adminKey })).body.heartbeats[0]).toMatchObject({ name: 'nightly-backup', status: 'down' });
    const ping = await http(`${t.url}/v1/heartbeats/nightly-backup`, { method: 'POST', key: hbKey });
    expect(ping.status, ping.text).toBe(200);
    expect(ping.body).toMatchObject({ name: 'nightly-backup', status: 'up' });
    expect((await alerts()).find((a) => a.id === fired.id).status).toBe('resolved');
    await http(`${t.url}/v1/heartbeats/nightly-backup`, { method: 'DELETE', key: t.adminKey });
  });

  it('checks the key and the name', async () => {
    await http(`${t.url}/v1/heartbeats`, { key: t.adminKey, json: { name: 'hourly', spec: { service: 'batch', interval: '1h' } } });
    expect((await http(`${t.url}/v1/heartbeats/hourly`, { method: 'POST' })).status).toBe(401);
    expect((await http(`${t.url}/v1/heartbeats/hourly`, { method: 'POST', key: amKey })).status).toBe(403);
    expect((await http(`${t.url}/v1/heartbeats/nope`, { method: 'POST', key: hbKey })).status).toBe(404);
    const apiKey = await integrationKey(t, 'heartbeat', 'api');
    const otherService = await http(`${t.url}/v1/heartbeats/hourly`, { method: 'POST', key: apiKey });
    expect(otherService.status).toBe(404);
    expect(otherService.body.error.message).toBe('no heartbeat named "hourly" for service api');
    const bad = await http(`${t.url}/v1/heartbeats`, { key: t.adminKey, json: { name: 'bad', spec: { service: 'nope', interval: 'soon' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: any) => d.path)).toContain('spec.interval');
  });
});

describe('storage faults', () => {
  it('are the only 5xx: a 503 with Retry-After that senders retry, and the retry succeeds', async () => {
    const db = t.keel.store.db;
    await sql`ALTER TABLE alerts RENAME TO alerts_away`.execute(db);
    try {
      const r = await ev(eventsV2(evKey, { dedup_key: 'during-outage' }));
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      expect(r.body.error.code).toBe('unavailable');
      const a = await am(amPayload('firing', [{ fingerprint: 'outage', name: 'Outage' }]), amKey);
      expect(a.status).toBe(503);
    } finally {
      await sql`ALTER TABLE alerts_away RENAME TO alerts`.execute(db);
    }
    expect((await ev(eventsV2(evKey, { dedup_key: 'during-outage' }))).status).toBe(202);
  });
});
