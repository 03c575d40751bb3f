/**
 * `GET /v1/incidents/waiting-for-me` (`keel incidents waiting`, the console's "Waiting for your
 * acknowledgement"): the triggered incidents that paged a person, asked for by the person signed
 * in, or by an API key naming the person. What it must never do: list an incident that paged
 * someone else, keep one that was acknowledged, or answer an API key as if it were a person.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel } from '../../helpers/cli.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { applyOk, eventsV2, integrationKey, setSecret, startPagingKeel, startReceiver, userDoc, waitFor, type Receiver } from '../../helpers/paging.js';
import { addUser, asUser, signIn, type SignedIn } from '../../helpers/security.js';

let t: TestKeel;
let rx: Receiver;
let alice: SignedIn;
const routingKeys: Record<string, string> = {};
const opened: Record<string, { id: string; number: number }> = {};

const api = (path: string, init: Parameters<typeof http>[1] = {}) => http(`${t.url}${path}`, { key: t.adminKey, ...init });
const policy = (name: string, user: string) => `apiVersion: keel/v1\nkind: EscalationPolicy\nmetadata: {name: ${name}}\nspec: {steps: [{notify: {users: [${user}]}, wait: 1h}]}\n`;
const service = (name: string, p: string) => `apiVersion: keel/v1\nkind: Service\nmetadata: {name: ${name}}\nspec: {escalationPolicy: ${p}}\n`;

/** Triggers an Events v2 alert for `svc` and waits until its incident's page was delivered. */
async function page(svc: string, dedup: string, to: string): Promise<void> {
  const r = await http(`${t.url}/v1/integrations/events-v2`, {
    json: eventsV2(routingKeys[svc]!, { dedup_key: dedup, payload: { summary: `${svc} down (${dedup})`, source: svc, severity: 'critical' } }),
  });
  expect(r.status, r.text).toBe(202);
  const list = await waitFor(`the ${svc} incident`, async () => (await api('/v1/incidents?state=all&limit=100')).body.incidents.find((i: { title: string }) => i.title === `${svc} down (${dedup})`));
  opened[dedup] = list;
  await waitFor(`the page to ${to}`, () => rx.requests.some((m) => m.path === `/${to}` && m.raw.includes(list.id)));
}

beforeAll(async () => {
  rx = await startReceiver();
  t = await startPagingKeel();
  await addUser(t.url, t.adminKey, { email: 'alice@example.com', name: 'Alice Example', role: 'responder', password: 'alice-Passw0rd-long' });
  await setSecret(t, 'alice-hook', 's1');
  await setSecret(t, 'bob-hook', 's2');
  await applyOk(
    t,
    [
      userDoc('alice', `${rx.url}/alice`),
      userDoc('bob', `${rx.url}/bob`),
      policy('alice-first', 'alice'),
      policy('bob-first', 'bob'),
      service('checkout', 'alice-first'),
      service('payments', 'alice-first'),
      service('search', 'bob-first'),
    ].join('---\n'),
  );
  for (const svc of ['checkout', 'payments', 'search']) routingKeys[svc] = await integrationKey(t, 'events-v2', svc);
  alice = await signIn(t.url, 'alice@example.com', 'alice-Passw0rd-long');
  await page('checkout', 'c1', 'alice');
  await page('search', 's1', 'bob');
  // Another service: alerts of one service group into its open incident.
  await page('payments', 'c2', 'alice');
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('incidents waiting for a person’s acknowledgement', () => {
  it('lists, for the person signed in, the triggered incidents that paged them, newest first', async () => {
    const r = await http(`${t.url}/v1/incidents/waiting-for-me`, asUser(alice));
    expect(r.status, r.text).toBe(200);
    expect(r.body.incidents.map((i: { id: string }) => i.id)).toEqual([opened.c2!.id, opened.c1!.id]);
    expect(r.body.incidents[0]).toMatchObject({ title: 'payments down (c2)', state: 'triggered', service: 'payments' });
    expect(r.body.next_cursor).toBeNull();
  });

  it('names the person with an API key (user id, email or handle), and says a key alone is nobody', async () => {
    const bob = await api('/v1/incidents/waiting-for-me?user=bob@example.com');
    expect(bob.status, bob.text).toBe(200);
    expect(bob.body.incidents.map((i: { id: string }) => i.id)).toEqual([opened.s1!.id]);
    expect((await api('/v1/incidents/waiting-for-me?user=bob')).body.incidents).toHaveLength(1);
    const keyAlone = await api('/v1/incidents/waiting-for-me');
    expect(keyAlone.status).toBe(400);
    expect(keyAlone.body.error.message).toBe('query.user: user is required with an API key (a key is nobody to page): name the person by user id, email or handle');
    const nobody = await api('/v1/incidents/waiting-for-me?user=carol@example.com');
    expect(nobody.status).toBe(400);
    expect(nobody.body.error.message).toBe('query.user: no person "carol@example.com" in this team');
  });

  it('drops an incident once acknowledged; keel incidents waiting shows the same', async () => {
    const ack = await http(`${t.url}/v1/incidents/${opened.c1!.id}/ack`, asUser(alice, { method: 'POST', json: {} }));
    expect(ack.status, ack.text).toBe(200);
    const r = await http(`${t.url}/v1/incidents/waiting-for-me`, asUser(alice));
    expect(r.body.incidents.map((i: { id: string }) => i.id)).toEqual([opened.c2!.id]);
    const cli = await keel(['incidents', 'waiting', '--user', 'alice'], { url: t.url, key: t.adminKey });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`${opened.c2!.number}`);
    expect(cli.stdout).toContain('payments down (c2)');
    expect(cli.stdout).not.toContain(opened.c1!.id);
    const none = await keel(['incidents', 'waiting', '--user', 'carol@example.com'], { url: t.url, key: t.adminKey });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('no person "carol@example.com" in this team');
    const json = await keel(['--json', 'incidents', 'waiting', '--user', 'bob'], { url: t.url, key: t.adminKey });
    expect(JSON.parse(json.stdout).incidents.map((i: { id: string }) => i.id)).toEqual([opened.s1!.id]);
  });
});
