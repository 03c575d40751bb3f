/**
 * An incident that paged nobody says so loudly (a field, a CLI line, a timeline entry, a metric)
 * and falls back to the tenant's admins; applying an escalation policy to its service starts its
 * escalation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel } from '../helpers/cli.js';
import { http, type TestKeel } from '../helpers/keel.js';
import { applyOk, eventsV2, integrationKey, startPagingKeel, personWithPolicy, startReceiver, userDoc, waitFor, webhookSecrets, type Receiver } from '../helpers/paging.js';

let rx: Receiver;

const PEOPLE = (url: string) => `${userDoc('boss', `${url}/boss`)}
---
${personWithPolicy('ann', url)}---
apiVersion: keel/v1
kind: User
metadata: {name: silent}
spec: {email: silent@example.com, name: Silent}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: silent}
spec: {steps: [{notify: {users: [silent]}, wait: 1h}], repeat: 1}
---
apiVersion: keel/v1
kind: Service
metadata: {name: lonely}
---
apiVersion: keel/v1
kind: Service
metadata: {name: hushed}
spec: {escalationPolicy: silent}
`;

const addAdmin = async (t: TestKeel, email: string, name: string) => {
  const r = await http(`${t.url}/v1/users`, { key: t.adminKey, json: { email, name, role: 'admin' } });
  expect(r.status, r.text).toBe(201);
};
const show = async (t: TestKeel, id: string) => (await http(`${t.url}/v1/incidents/${id}`, { key: t.adminKey })).body;
const timeline = async (t: TestKeel, id: string) => (await http(`${t.url}/v1/incidents/${id}/timeline`, { key: t.adminKey })).body.timeline as any[];
const openIncident = async (t: TestKeel, service: string, dedup: string) => {
  const key = await integrationKey(t, 'events-v2', service);
  expect((await http(`${t.url}/v1/integrations/events-v2`, { json: eventsV2(key, { dedup_key: dedup }) })).status).toBe(202);
  return waitFor(`an incident of ${service}`, async () => {
    const list = (await http(`${t.url}/v1/incidents?service=${service}`, { key: t.adminKey })).body.incidents as any[];
    return list[0]?.paged_nobody ? list[0] : undefined;
  });
};

describe('an incident that paged nobody', () => {
  let t: TestKeel;
  beforeAll(async () => {
    [rx, t] = await Promise.all([startReceiver(), startPagingKeel()]);
    await webhookSecrets(t.url, t.adminKey, ['boss', 'ann']);
    // boss is an admin with a User definition (paged by webhook), mia an admin without one (email).
    await addAdmin(t, 'boss@example.com', 'Boss');
    await addAdmin(t, 'mia@example.com', 'Mia');
    await applyOk(t, PEOPLE(rx.url));
  });
  afterAll(async () => {
    await t?.close();
    await rx?.close();
  });

  it('says so in the API, the CLI, the timeline and the metrics, and notifies the admins', async () => {
    const inc = await openIncident(t, 'lonely', 'l1');
    expect(inc.paged_nobody).toMatchObject({ reason: 'service lonely has no escalation policy' });
    const entry = (await timeline(t, inc.id)).find((e) => e.type === 'escalation' && e.data.unpaged);
    expect(entry).toMatchObject({
      actor: 'system',
      message: "Nobody was paged: service lonely has no escalation policy; notifying the tenant's admins: boss, mia@example.com",
      data: { unpaged: 'no_policy', fallback: 'admins' },
    });
    // The fallback: boss through his webhook, mia by email to her account address.
    const page = await waitFor('the admin boss to be paged', () => rx.requests.find((r) => r.path === '/boss' && r.body.incident.id === inc.id));
    expect(page.body.incident.title).toBe('Disk almost full on db-1');
    const jobs = (await http(`${t.url}/v1/incidents/${inc.id}/notifications`, { key: t.adminKey })).body;
    expect(JSON.stringify(jobs)).toContain('admin mia@example.com');
    const shown = await keel(['incidents', 'show', String(inc.number)], { url: t.url, key: t.adminKey });
    expect(shown.stdout).toContain('PAGED NOBODY (since ');
    expect(shown.stdout).toContain('): service lonely has no escalation policy');
    const listed = await keel(['incidents', 'list'], { url: t.url, key: t.adminKey });
    expect(listed.stdout).toContain(`PAGED NOBODY: #${inc.number}: service lonely has no escalation policy`);
    // The tenant and service labels are shown to a system admin's key (docs/security.md, "Metrics").
    const prom = (await http(`${t.url}/metrics`, { key: t.adminKey })).text;
    expect(prom).toContain('keel_incidents_unpaged_total{tenant="default",service="lonely",reason="no_policy"} 1');
  });

  it('a declaration that asks to page a service without a policy says it paged nobody; --no-page is a choice', async () => {
    const declared = await keel(['incidents', 'declare', '--title', 'Checkout down', '--service', 'lonely'], { url: t.url, key: t.adminKey });
    expect(declared.code, declared.stderr).toBe(0);
    expect(declared.stderr).toContain('PAGED NOBODY: service lonely has no escalation policy');
    const number = /declared incident #(\d+)/.exec(declared.stdout)![1]!;
    const detail = await show(t, number);
    expect(detail.paged_nobody).toMatchObject({ reason: 'service lonely has no escalation policy' });
    expect((await timeline(t, detail.id)).map((e) => e.message)).toContain("Nobody was paged: service lonely has no escalation policy; notifying the tenant's admins: boss, mia@example.com");
    const quiet = await keel(['incidents', 'declare', '--title', 'Game day', '--service', 'lonely', '--no-page'], { url: t.url, key: t.adminKey });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain('PAGED NOBODY');
    expect((await show(t, /declared incident #(\d+)/.exec(quiet.stdout)![1]!)).paged_nobody).toBeNull();
    // Both closed again: the next test adopts the alert's open incident.
    for (const n of [number, /declared incident #(\d+)/.exec(quiet.stdout)![1]!]) expect((await keel(['incidents', 'resolve', n], { url: t.url, key: t.adminKey })).code).toBe(0);
  });

  it('applying an escalation policy to the service starts the open incident’s escalation', async () => {
    const inc = (await http(`${t.url}/v1/incidents?service=lonely&state=triggered`, { key: t.adminKey })).body.incidents[0];
    await applyOk(t, `apiVersion: keel/v1\nkind: Service\nmetadata: {name: lonely}\nspec: {escalationPolicy: ann}\n`);
    const page = await waitFor('ann to be paged for the open incident', () => rx.requests.find((r) => r.path === '/ann' && r.body.incident.id === inc.id));
    expect(page.body.escalation).toMatchObject({ policy: 'ann', pass: 0, step: 0 });
    const after = await show(t, inc.id);
    expect(after).toMatchObject({ paged_nobody: null, escalation_policy: 'ann' });
    expect((await timeline(t, inc.id)).map((e) => e.message)).toContain('Service lonely now has escalation policy ann: escalation starts');
  });

  it('a policy whose every step has nobody to page is flagged once it ends', async () => {
    const inc = await openIncident(t, 'hushed', 'h1');
    expect(inc.paged_nobody.reason).toBe('no step of escalation policy silent had anyone to page');
    const tl = await timeline(t, inc.id);
    expect(tl.filter((e) => e.data.unpaged).map((e) => e.data.unpaged)).toEqual(['nobody_to_page']);
  });
});

describe('the fallback is configurable', () => {
  it('paging.unpagedFallback: none flags the incident but notifies nobody else', async () => {
    const t = await startPagingKeel({ paging: { pollInterval: 25, unpagedFallback: 'none' } });
    try {
      await addAdmin(t, 'boss@example.com', 'Boss');
      await applyOk(t, 'apiVersion: keel/v1\nkind: Service\nmetadata: {name: lonely}\n');
      const inc = await openIncident(t, 'lonely', 'n1');
      const entry = (await timeline(t, inc.id)).find((e) => e.data.unpaged);
      expect(entry.message).toBe('Nobody was paged: service lonely has no escalation policy; no fallback is configured (paging.unpagedFallback: none)');
      expect((await http(`${t.url}/v1/incidents/${inc.id}/notifications`, { key: t.adminKey })).body.notifications).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
