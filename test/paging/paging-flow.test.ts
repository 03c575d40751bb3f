import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, type TestKeel } from '../helpers/keel.js';
import { applyOk, eventsV2, integrationKey, setSecret, startPagingKeel, startReceiver, userDoc, waitFor, type Receiver } from '../helpers/paging.js';

let t: TestKeel;
let rx: Receiver;
let checkoutKey: string;
const SECRETS: Record<string, string> = { 'alice-hook': 'alice-signing-secret', 'bob-hook': 'bob-signing-secret', 'carol-hook': 'carol-secret', 'dave-hook': 'dave-secret' };

const config = (url: string) => `
${userDoc('alice', `${url}/alice`)}
---
${userDoc('bob', `${url}/bob`)}
---
${userDoc('carol', `${url}/carol`)}
---
${userDoc(
  'dave',
  `${url}/dave`,
  `    - {name: later, type: webhook, url: "${url}/dave-later"}
  notificationRules:
    - {after: 0m, contactMethod: hook}
    - {after: 3s, contactMethod: later}`,
)}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: dave}
spec: {steps: [{notify: {users: [dave]}, wait: 1h}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: dave}
spec: {escalationPolicy: dave}
---
apiVersion: keel/v1
kind: Channel
metadata: {name: ops-slack}
spec: {type: slack, webhookUrlSecret: ops-slack-url}
---
apiVersion: keel/v1
kind: Schedule
metadata: {name: primary}
spec:
  timeZone: Europe/Berlin
  layers:
    - {name: weekly, users: [alice], start: "2026-01-05", turn: 1w, handoff: "09:00"}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: standard}
spec:
  steps:
    - notify: {schedules: [primary]}
      wait: 1s
    - notify: {users: [bob], channels: [ops-slack]}
      wait: 1s
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: fragile}
spec:
  steps:
    - notify: {users: [carol]}
      wait: 7d
    - notify: {users: [bob]}
      wait: 5m
---
apiVersion: keel/v1
kind: Service
metadata: {name: checkout}
spec:
  escalationPolicy: standard
  alertGrouping: {by: [class]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: fragile}
spec: {escalationPolicy: fragile}
---
apiVersion: keel/v1
kind: Service
metadata: {name: database}
spec: {escalationPolicy: standard}
---
apiVersion: keel/v1
kind: Service
metadata: {name: ops}
---
apiVersion: keel/v1
kind: Service
metadata: {name: reports}
spec: {escalationPolicy: standard}
---
apiVersion: keel/v1
kind: Route
metadata: {name: db}
spec: {order: 10, matchers: ['source=~"db-.*"'], service: database}
---
apiVersion: keel/v1
kind: Route
metadata: {name: everything-else}
spec: {default: true, service: ops}
`;

async function trigger(key: string, overrides: Record<string, unknown> = {}) {
  const r = await http(`${t.url}/v1/integrations/events-v2`, { json: eventsV2(key, overrides) });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body as { dedup_key: string };
}

async function incidents(service: string, state = 'all') {
  return (await http(`${t.url}/v1/incidents?service=${service}&state=${state}`, { key: t.adminKey })).body.incidents as any[];
}

async function timeline(id: string) {
  return (await http(`${t.url}/v1/incidents/${id}/timeline`, { key: t.adminKey })).body.timeline as { type: string; message: string; actor: string; data: any }[];
}

const pagesTo = (who: string, incidentId?: string) => rx.requests.filter((r) => r.path === `/${who}` && (!incidentId || r.body?.incident?.id === incidentId));

beforeAll(async () => {
  rx = await startReceiver();
  t = await startPagingKeel();
  for (const [k, v] of Object.entries(SECRETS)) await setSecret(t, k, v);
  await setSecret(t, 'ops-slack-url', `${rx.url}/slack`);
  rx.status.set('/carol', 500);
  await applyOk(t, config(rx.url));
  checkoutKey = await integrationKey(t, 'events-v2', 'checkout');
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('alert to page to acknowledgement', () => {
  let incidentId: string;

  it('opens an incident and pages whoever is on call, signed, with a delivery id', async () => {
    await trigger(checkoutKey, {
      dedup_key: 'checkout-5xx',
      payload: { summary: 'Checkout 5xx above 5%', source: 'lb-1', severity: 'critical', component: 'api', custom_details: { alertname: 'x' } },
      links: [{ href: 'https://grafana.example/d/1', text: 'Dashboard' }],
    });
    const page = await waitFor('alice to be paged', () => pagesTo('alice')[0]);
    incidentId = page.body.incident.id;
    expect(page.body).toMatchObject({
      event: 'incident.triggered',
      incident: { number: 1, title: 'Checkout 5xx above 5%', severity: 'SEV2', service: 'checkout', state: 'triggered' },
      recipient: { email: 'alice@example.com', name: 'Alice Example' },
      links: [{ href: 'https://grafana.example/d/1', text: 'Dashboard' }],
      escalation: { policy: 'standard', pass: 0, step: 0 },
    });
    expect(page.headers['x-keel-delivery']).toBe(page.body.delivery_id);
    const expected = `sha256=${createHmac('sha256', SECRETS['alice-hook']!).update(page.raw).digest('hex')}`;
    expect(page.headers['x-keel-signature']).toBe(expected);
    expect(page.body.ack_url).toMatch(/\/v1\/links\?token=[\w-]+\.[\w-]+$/);
  });

  it('escalates to the next step (a person and a Slack channel) after the wait', async () => {
    const bob = await waitFor('bob to be paged', () => pagesTo('bob', incidentId)[0]);
    expect(bob.body).toMatchObject({ event: 'incident.escalated', escalation: { pass: 0, step: 1 } });
    // The second step fired no sooner than the first step's wait after the first.
    const steps = (await timeline(incidentId)).filter((e) => e.type === 'escalation') as unknown as { at: string; data: { step: number } }[];
    expect(steps.map((e) => e.data.step)).toEqual([0, 1]);
    expect(Date.parse(steps[1]!.at) - Date.parse(steps[0]!.at)).toBeGreaterThanOrEqual(1000);
    const slack = await waitFor('the Slack message', () => rx.requests.find((r) => r.path === '/slack' && r.body.text.includes(`#1`)));
    expect(slack.body.text).toContain('[SEV2] Incident #1: Checkout 5xx above 5%');
    expect(slack.body.text).toContain('*Severity:* SEV2');
    expect(slack.body.text).toContain('Checkout 5xx above 5%');
    expect(slack.body.text).toContain('<https://grafana.example/d/1|Dashboard>');
    expect(slack.body.text).toMatch(/<http[^|]+\/v1\/links\?token=[^|]+\|Acknowledge>/);
    expect(Array.isArray(slack.body.blocks)).toBe(true);
  });

  it('acknowledges through the signed one-click link, once, and escalation stops', async () => {
    const bob = pagesTo('bob', incidentId)[0]!;
    const u = new URL(bob.body.ack_url as string);
    const linkPath = `${u.pathname}${u.search}`;
    // GET shows what the link does (link scanners must not acknowledge anything).
    const preview = await http(`${t.url}${linkPath}`);
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ action: 'ack', incident: { id: incidentId, state: 'triggered' } });
    const page = await http(`${t.url}${linkPath}`, { headers: { accept: 'text/html' } });
    expect(page.text).toContain('<form method="post">');
    const ack = await http(`${t.url}${linkPath}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(ack.status, ack.text).toBe(200);
    expect(ack.body.incident.state).toBe('acknowledged');
    expect(ack.body.by).toBe('user:bob@example.com');
    const again = await http(`${t.url}${linkPath}`, { method: 'POST' });
    expect(again.status).toBe(410);
    expect(again.body.error.message).toMatch(/already used/);
    const tampered = await http(`${t.url}${linkPath.slice(0, -3)}abc`, { method: 'POST' });
    expect(tampered.status).toBe(401);
    const detail = (await http(`${t.url}/v1/incidents/${incidentId}`, { key: t.adminKey })).body;
    expect(detail.state).toBe('acknowledged');
    // Both steps had fired (bob was the last), so the policy is exhausted; nothing is pending.
    expect(detail.escalation).toMatchObject({ status: 'exhausted', next: null });
    const tl = await timeline(incidentId);
    const types = tl.map((e) => e.type);
    for (const type of ['state', 'alert', 'escalation', 'notification']) expect(types).toContain(type);
    expect(tl.find((e) => e.type === 'state' && e.data.to === 'acknowledged')?.actor).toBe('user:bob@example.com');
    expect(tl.some((e) => e.type === 'notification' && e.data.status === 'sent' && typeof e.data.latency_ms === 'number' && e.data.attempts === 1)).toBe(true);
  });

  it('an acknowledgement by API stops escalation before the next step', async () => {
    await trigger(checkoutKey, { dedup_key: 'latency', payload: { summary: 'Latency high', source: 'lb-1', severity: 'critical', class: 'latency' } });
    const first = await waitFor('the first page of incident 2', () => pagesTo('alice').find((r) => r.body.incident.title === 'Latency high'));
    const id = first.body.incident.id as string;
    const ack = await http(`${t.url}/v1/incidents/${first.body.incident.number}/ack`, { method: 'POST', key: t.adminKey, json: { note: 'looking' } });
    expect(ack.status, ack.text).toBe(200);
    const again = await http(`${t.url}/v1/incidents/${id}/ack`, { method: 'POST', key: t.adminKey });
    expect(again.status).toBe(409);
    await new Promise((r) => setTimeout(r, 1500));
    expect(pagesTo('bob', id)).toEqual([]);
    const tl = await timeline(id);
    expect(tl.some((e) => e.type === 'escalation' && e.message.startsWith('Escalation stopped'))).toBe(true);
    expect(tl.some((e) => e.type === 'state' && e.message === 'Acknowledged: looking')).toBe(true);
  });
});

describe('failing notifications', () => {
  it('are retried with backoff, recorded, and then escalate to the next step instead of waiting', async () => {
    const key = await integrationKey(t, 'events-v2', 'fragile');
    await trigger(key, { dedup_key: 'f1', payload: { summary: 'Fragile thing broke', source: 'x', severity: 'error' } });
    // carol's webhook always answers 500; the step waits 7 days, yet bob is paged right after her retries.
    const bob = await waitFor('bob to be paged instead', () => rx.requests.find((r) => r.path === '/bob' && r.body.incident.title === 'Fragile thing broke'));
    const carolAttempts = pagesTo('carol', bob.body.incident.id);
    expect(carolAttempts).toHaveLength(3);
    expect(new Set(carolAttempts.map((r) => r.headers['x-keel-delivery'])).size).toBe(1);
    const n = (await http(`${t.url}/v1/incidents/${bob.body.incident.id}/notifications`, { key: t.adminKey })).body.notifications as any[];
    const carolJob = n.find((j) => j.target === 'hook' && j.status === 'failed');
    expect(carolJob).toMatchObject({ attempts: 3, last_status: 500, channel: 'webhook' });
    expect(carolJob.attempt_log.map((a: any) => [a.attempt, a.ok, a.status_code])).toEqual([
      [1, false, 500],
      [2, false, 500],
      [3, false, 500],
    ]);
    for (const a of carolJob.attempt_log) expect(typeof a.latency_ms).toBe('number');
    const tl = await timeline(bob.body.incident.id);
    expect(tl.filter((e) => e.type === 'notification' && e.data.status === 'retrying')).toHaveLength(2);
    expect(tl.some((e) => e.type === 'notification' && e.data.status === 'failed' && e.message.includes('after 3 attempts'))).toBe(true);
    expect(tl.some((e) => e.type === 'escalation' && e.message.includes('escalating to the next step now'))).toBe(true);
  });
});

describe('notification rules', () => {
  it('use later contact methods only while the incident is still unacknowledged', async () => {
    const key = await integrationKey(t, 'events-v2', 'dave');
    await trigger(key, { dedup_key: 'd1', payload: { summary: 'Dave’s thing', source: 'x', severity: 'critical' } });
    const first = await waitFor('dave’s first page', () => pagesTo('dave')[0]);
    const id = first.body.incident.id as string;
    expect((await http(`${t.url}/v1/incidents/${id}/ack`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    const later = await waitFor('the delayed page to be dropped', async () => {
      const n = (await http(`${t.url}/v1/incidents/${id}/notifications`, { key: t.adminKey })).body.notifications as any[];
      return n.find((j) => j.target === 'later' && j.status === 'canceled');
    });
    expect(later).toMatchObject({ attempts: 0, last_error: 'incident is acknowledged' });
    expect(rx.requests.filter((r) => r.path === '/dave-later')).toEqual([]);
  });
});

describe('dedup, grouping and resolution', () => {
  it('counts repeats of a dedup key on one alert, groups alerts into one incident, and resolves it when all resolve', async () => {
    const k = await integrationKey(t, 'events-v2', 'checkout');
    const p = { summary: 'Queue backlog', source: 'worker-1', severity: 'critical', class: 'backlog' };
    await trigger(k, { dedup_key: 'q1', payload: p });
    await trigger(k, { dedup_key: 'q1', payload: p });
    await trigger(k, { dedup_key: 'q2', payload: { ...p, source: 'worker-2' } });
    const inc = await waitFor('the backlog incident with both alerts', async () => {
      const list = (await incidents('checkout')).filter((i) => i.title === 'Queue backlog');
      if (list.length !== 1) return undefined;
      const d = (await http(`${t.url}/v1/incidents/${list[0].id}`, { key: t.adminKey })).body;
      return d.alerts.length === 2 ? d : undefined;
    });
    expect(inc.alerts.map((a: any) => a.count).sort()).toEqual([1, 2]);
    await trigger(k, { dedup_key: 'q1', event_action: 'resolve', payload: undefined });
    await trigger(k, { dedup_key: 'q2', event_action: 'resolve', payload: undefined });
    const resolved = await waitFor('auto-resolution', async () => {
      const d = (await http(`${t.url}/v1/incidents/${inc.id}`, { key: t.adminKey })).body;
      return d.state === 'resolved' ? d : undefined;
    });
    expect(resolved.acknowledged_at).toBeNull(); // nobody acknowledged: MTTA leaves it out
    const tl = await timeline(inc.id);
    expect(tl.filter((e) => e.type === 'alert' && e.data.status === 'resolved')).toHaveLength(2);
    expect(tl.find((e) => e.type === 'state' && e.data.to === 'resolved')).toMatchObject({ actor: 'integration:events-v2', message: 'Resolved: all its alerts resolved' });
    // A trigger after the resolve opens a new alert, and a new incident.
    await trigger(k, { dedup_key: 'q1', payload: p });
    await waitFor('a new incident', async () => (await incidents('checkout', 'open')).some((i) => i.title === 'Queue backlog' && i.id !== inc.id));
  });

  it('Events v2 acknowledge acknowledges the incident', async () => {
    const k = await integrationKey(t, 'events-v2', 'checkout');
    await trigger(k, { dedup_key: 'ackme', payload: { summary: 'Ack me', source: 's', severity: 'critical', class: 'ackme' } });
    await trigger(k, { dedup_key: 'ackme', event_action: 'acknowledge', payload: undefined });
    const inc = await waitFor('acknowledged', async () => (await incidents('checkout')).find((i) => i.title === 'Ack me' && i.state === 'acknowledged'));
    const tl = await timeline(inc.id);
    expect(tl.find((e) => e.type === 'state' && e.data.to === 'acknowledged')?.actor).toBe('integration:events-v2');
  });
});

describe('routing, severity and suppression', () => {
  it('routes service-less alerts by label, with a default route', async () => {
    const routed = await integrationKey(t, 'events-v2');
    await trigger(routed, { dedup_key: 'r1', payload: { summary: 'Replication lag', source: 'db-7', severity: 'critical' } });
    await trigger(routed, { dedup_key: 'r2', payload: { summary: 'Something else', source: 'web-1', severity: 'critical' } });
    await waitFor('database incident', async () => (await incidents('database')).some((i) => i.title === 'Replication lag'));
    await waitFor('ops incident', async () => (await incidents('ops')).some((i) => i.title === 'Something else'));
    const alerts = (await http(`${t.url}/v1/paging/alerts`, { key: t.adminKey })).body.alerts as any[];
    expect(alerts.find((a) => a.summary === 'Replication lag').paging).toMatchObject({ service: 'database', route: 'db' });
    expect(alerts.find((a) => a.summary === 'Something else').paging).toMatchObject({ service: 'ops', route: 'everything-else' });
    const dry = await http(`${t.url}/v1/paging/route-test`, { key: t.adminKey, json: { labels: { source: 'db-1' } } });
    expect(dry.body).toMatchObject({ service: 'database', route: 'db', pages: true, escalation_policy: 'standard' });
  });

  it('records non-paging severities without opening an incident', async () => {
    await trigger(checkoutKey, { dedup_key: 'warn1', payload: { summary: 'Just a warning', source: 's', severity: 'warning', class: 'w' } });
    const alert = await waitFor('the warning to be processed', async () =>
      ((await http(`${t.url}/v1/paging/alerts`, { key: t.adminKey })).body.alerts as any[]).find((a) => a.summary === 'Just a warning' && a.paging),
    );
    expect(alert.paging).toMatchObject({ service: 'checkout', incident_id: null, suppressed_by: null });
  });

  it('silences and maintenance windows suppress notifications but the alert is recorded', async () => {
    const now = Date.now();
    const silence = await http(`${t.url}/v1/silences`, {
      key: t.adminKey,
      json: {
        spec: { matchers: ['component="batch"'], startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), createdBy: 'alice', comment: 'batch rewrite' },
      },
    });
    expect(silence.status, silence.text).toBe(200);
    expect(silence.body.action).toBe('create');
    const name = silence.body.name as string;
    await trigger(checkoutKey, { dedup_key: 'batch', payload: { summary: 'Batch failed', source: 's', severity: 'critical', component: 'batch', class: 'batch' } });
    const a = await waitFor('the silenced alert', async () =>
      ((await http(`${t.url}/v1/paging/alerts`, { key: t.adminKey })).body.alerts as any[]).find((x) => x.summary === 'Batch failed' && x.paging),
    );
    expect(a.paging).toMatchObject({ service: 'checkout', incident_id: null, suppressed_by: `silence/${name}` });

    const mw = await http(`${t.url}/v1/maintenance-windows`, {
      key: t.adminKey,
      json: { name: 'db-upgrade', spec: { services: ['reports'], startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), description: 'upgrade' } },
    });
    expect(mw.status, mw.text).toBe(200);
    const reports = await integrationKey(t, 'events-v2', 'reports');
    await trigger(reports, { dedup_key: 'mw', payload: { summary: 'During maintenance', source: 'db-9', severity: 'critical' } });
    const b = await waitFor('the alert in maintenance', async () =>
      ((await http(`${t.url}/v1/paging/alerts`, { key: t.adminKey })).body.alerts as any[]).find((x) => x.summary === 'During maintenance' && x.paging),
    );
    expect(b.paging).toMatchObject({ service: 'reports', incident_id: null, suppressed_by: 'maintenance/db-upgrade' });
    expect(rx.requests.some((r) => r.body?.incident?.title === 'Batch failed' || r.body?.incident?.title === 'During maintenance')).toBe(false);
  });
});
