/**
 * Pages carry what the responder needs: alert labels; for SLO alerts the burn rate per window, the
 * budget left and the SLO's runbook; webhooks also hear `incident.acknowledged` and
 * `incident.resolved` with who did it; a link acknowledgement names the person it was sent to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { http, ndjson, type TestKeel } from '../helpers/keel.js';
import { applyOk, eventsV2, integrationKey, setSecret, startPagingKeel, startReceiver, waitFor, webhookSecrets, type Receiver } from '../helpers/paging.js';
import { ratioSlo, settled } from '../slo/fixtures.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const clock = new FakeClock(T0);
let t: TestKeel;
let rx: Receiver;

const config = (url: string) => `apiVersion: keel/v1
kind: User
metadata: {name: ann}
spec:
  email: ann@example.com
  name: Ann Example
  contactMethods:
    - {name: hook, type: webhook, url: "${url}/ann", signingSecret: ann-hook}
    - {name: chat, type: slack, webhookUrlSecret: ann-slack}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: ann}
spec: {steps: [{notify: {users: [ann]}, wait: 1h}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: checkout}
spec: {escalationPolicy: ann, alertGrouping: {by: [source]}}
---
${ratioSlo('checkout-availability', { breakdown: ['region'] }).replace('metadata:\n  name: checkout-availability\n', 'metadata:\n  name: checkout-availability\n  annotations: {runbook_url: "https://runbooks.example/checkout"}\n')}`;

const hooks = (event: string, incident?: string) => rx.requests.filter((r) => r.path === '/ann' && r.headers['x-keel-event'] === event && (!incident || r.body.incident.id === incident));

beforeAll(async () => {
  rx = await startReceiver();
  t = await startPagingKeel({ slo: { evaluationInterval: '1h' } }, { clock });
  await webhookSecrets(t.url, t.adminKey, ['ann']);
  await setSecret(t, 'ann-slack', `${rx.url}/ann-slack`);
  await applyOk(t, config(rx.url));
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('what a page says', () => {
  it('webhook pages carry the alert labels; acknowledging and resolving are sent too, with who did it', async () => {
    const key = await integrationKey(t, 'events-v2', 'checkout');
    const ev = eventsV2(key, { dedup_key: 'lbl', payload: { summary: 'Queue stuck', source: 'worker-3', severity: 'critical', component: 'queue', group: 'payments', class: 'backlog' } });
    expect((await http(`${t.url}/v1/integrations/events-v2`, { json: ev })).status).toBe(202);
    const page = await waitFor('the page', () => hooks('incident.triggered')[0]);
    expect(page.body.alerts[0]).toMatchObject({ summary: 'Queue stuck', labels: { source: 'worker-3', component: 'queue', group: 'payments', class: 'backlog' } });
    const id = page.body.incident.id as string;
    expect((await http(`${t.url}/v1/incidents/${id}/ack`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    const acked = await waitFor('incident.acknowledged', () => hooks('incident.acknowledged', id)[0]);
    expect(acked.body).toMatchObject({
      event: 'incident.acknowledged',
      incident: { id, state: 'acknowledged' },
      by: { actor: expect.stringMatching(/^key:/) },
      recipient: { email: 'ann@example.com' },
    });
    expect(acked.headers['x-keel-signature']).toMatch(/^sha256=/);
    expect((await http(`${t.url}/v1/incidents/${id}/resolve`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    const resolved = await waitFor('incident.resolved', () => hooks('incident.resolved', id)[0]);
    expect(resolved.body).toMatchObject({ event: 'incident.resolved', incident: { id, state: 'resolved' }, by: { actor: expect.stringMatching(/^key:/) } });
    // Each was sent once, to the one webhook paged.
    expect([hooks('incident.acknowledged', id).length, hooks('incident.resolved', id).length]).toEqual([1, 1]);
  });

  it('a Slack link acknowledgement records the person the link was sent to', async () => {
    const key = await integrationKey(t, 'events-v2', 'checkout');
    expect((await http(`${t.url}/v1/integrations/events-v2`, { json: eventsV2(key, { dedup_key: 'slack', payload: { summary: 'Slack me', source: 'web-9', severity: 'critical' } }) })).status).toBe(
      202,
    );
    const slack = await waitFor('the Slack page', () => rx.requests.find((r) => r.path === '/ann-slack' && String(r.body.text).includes('Slack me')));
    const ack = /<([^|>]+)\|Acknowledge>/.exec(slack.body.text as string)![1]!;
    const link = new URL(ack.replace(/&amp;/g, '&'));
    const clicked = await http(`${t.url}${link.pathname}${link.search}`, { method: 'POST' });
    expect(clicked.status, clicked.text).toBe(200);
    expect(clicked.body.by).toBe('user:ann@example.com');
    const id = (await waitFor('the webhook page', () => rx.requests.find((r) => r.path === '/ann' && r.body.alerts?.[0]?.summary === 'Slack me'))).body.incident.id as string;
    // "Open incident" opens the console's incident page, with the team in the link.
    const open = new URL(/<([^|>]+)\|Open incident>/.exec(slack.body.text as string)![1]!.replace(/&amp;/g, '&'));
    expect(open.pathname + open.search).toBe(`/incidents/${id}?team=default`);
    const tl = (await http(`${t.url}/v1/incidents/${id}/timeline?type=state`, { key: t.adminKey })).body.timeline as any[];
    expect(tl.find((e) => e.data.to === 'acknowledged')?.actor).toBe('user:ann@example.com');
    const acked = await waitFor('incident.acknowledged', () => hooks('incident.acknowledged', id)[0]);
    expect(acked.body.by).toEqual({ actor: 'user:ann@example.com', user_id: expect.stringMatching(/^usr_/), name: 'Ann Example', email: 'ann@example.com' });
  });

  it('SLO pages carry the burn rate per window, the budget remaining and the runbook from the SLO', async () => {
    // Region r1 has every failure (100 of its 150 events), r2 none.
    const events = Array.from({ length: 300 }, (_, i) => ({ ts: new Date(T0 - 120_000 + i * 100).toISOString(), service: 'checkout', status: i < 100 ? 503 : 200, region: i < 150 ? 'r1' : 'r2' }));
    expect((await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(events), headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
    await settled(t.url, t.adminKey);
    // Not on a 10-second boundary, as a real clock rarely is: the page's top breakdown is still
    // read over aligned windows (it failed the evaluation, so nobody was paged, before).
    clock.advance(60_003);
    expect((await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    const page = await waitFor('the SLO page', () => hooks('incident.triggered').find((r) => r.body.alerts.some((a: any) => a.source === 'slo')));
    // The ticket alert joins the incident the page alert opened; the page alert is the one that paged.
    const alert = page.body.alerts.find((a: any) => a.labels.severity === 'page');
    const slo = alert.slo;
    // 100 bad of 300 against a 1% budget: a burn rate of 33.33 in every window that holds them all.
    expect(slo).toMatchObject({ slo: 'checkout-availability', runbook_url: 'https://runbooks.example/checkout' });
    expect(slo.top_breakdown).toEqual([{ values: { region: 'r1' }, bad_events: 100, total_events: 150 }]);
    expect(Object.fromEntries(slo.burn_rates.map((b: any) => [b.window, Math.round(b.burn_rate * 100) / 100]))).toEqual({ '1h': 33.33, '5m': 33.33, '6h': 33.33, '30m': 33.33 });
    // The 30-day budget: 300 events, 1% may fail (3), 100 did: 1 - 100/3 remaining.
    expect(slo.budget_remaining).toBeCloseTo(1 - 100 / 3, 6);
    expect(alert.labels).toMatchObject({ slo: 'checkout-availability', policy: 'default', service: 'checkout' });
    expect(page.body.links).toContainEqual({ href: 'https://runbooks.example/checkout', text: 'Runbook' });
    const slack = await waitFor('the Slack page', () => rx.requests.find((r) => r.path === '/ann-slack' && String(r.body.text).includes('SLO checkout-availability: burn rate')));
    expect(slack.body.text).toContain(
      'SLO checkout-availability: burn rate 1h 33.33×, 5m 33.33×, 6h 33.33×, 30m 33.33×; budget remaining -3233.33%; most bad: region=r1 (100 bad of 150); runbook https://runbooks.example/checkout',
    );
  });
});
