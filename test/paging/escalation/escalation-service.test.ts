/**
 * What escalation does for the people it pages, on a real store with a fake clock: who is paged
 * at each step and how many times (a user who is also on call once, a channel), when each step
 * fires (not a millisecond early, each step's own wait, over every pass), a policy that can page
 * nobody runs through at once and says so, a step whose pages all fail hands over to the next
 * step at once and an escalation whose pages all failed says nobody was paged, the
 * acknowledgement timeout triggers again (only while an alert fires, re-armed by every
 * acknowledgement, canceled by resolving), a fenced scheduler (leadership lost) pages nobody, and
 * a service that gets a policy starts the escalation of its incident that paged nobody.
 * Expectations are written from the policies below, not from the code.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import type { Incident } from '../../../src/paging/incidents/incident-service.js';
import { Directory } from '../../../src/paging/oncall/directory.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { startReceiver, waitFor, type Receiver } from '../../helpers/paging.js';
import { startPagingStack, type PagingStack } from '../../helpers/paging-stack.js';
import { openTestStore, type TestStore } from '../../helpers/stores.js';

const MIN = 60_000;
const user = (name: string) => `apiVersion: keel/v1
kind: User
metadata: {name: ${name}}
spec:
  email: ${name}@example.com
  name: ${name}
  contactMethods: [{name: mail, type: email, address: ${name}@example.com}]
`;

let ts: TestStore;
let stack: PagingStack;
const clock = new FakeClock('2026-06-01T12:00:00Z');

async function open(title: string, policy: string | null, createdBy = 'test'): Promise<Incident> {
  return stack.incidents.inTransaction((trx, fx) => stack.incidents.open(trx, { tenant: 'acme', title, service: null, severity: 'SEV2', createdBy, escalationPolicy: policy }, fx));
}

async function signal(service: string, status: 'firing' | 'resolved'): Promise<Incident> {
  await stack.alerts.signal({ tenant: 'acme', dedupKey: service, source: 'test', status, severity: 'page', summary: `${service} is down`, service });
  return waitFor(`the ${service} incident`, async () => (await stack.incidents.list('acme')).find((i) => i.service === service && i.state !== 'resolved'));
}

async function transition(id: string, to: 'acknowledged' | 'resolved') {
  await stack.incidents.inTransaction(async (trx, fx) => stack.incidents.transition(trx, (await stack.incidents.find(trx, 'acme', id))!, to, 'user:ann', fx));
}

/** The incident's pages as "pass/step address status", in the order they were made. */
async function pages(id: string): Promise<string[]> {
  const rows = await ts.store.db.selectFrom('notification_jobs').selectAll().where('incident_id', '=', id).orderBy('created_at').orderBy('pass').orderBy('step').orderBy('target_json').execute();
  return rows.map((j) => {
    const t = JSON.parse(j.target_json) as { address?: string; url?: string };
    return `${j.pass}/${j.step} ${t.address ?? t.url} ${j.status}`;
  });
}

async function timeline(id: string, type = 'escalation'): Promise<string[]> {
  return (await ts.store.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', id).where('type', '=', type).orderBy('seq').execute()).map((e) => e.message);
}

async function timelineData(id: string): Promise<[string, unknown][]> {
  return (await ts.store.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', id).where('type', '=', 'escalation').orderBy('seq').execute()).map((e) => [
    e.message,
    JSON.parse(e.data_json) as unknown,
  ]);
}

/** Who wrote the incident's escalation entries. */
async function actors(id: string): Promise<string[]> {
  return [...new Set((await ts.store.db.selectFrom('incident_timeline').select('actor').where('incident_id', '=', id).where('type', '=', 'escalation').execute()).map((e) => e.actor))];
}

/** The incident's timers as "pass/step due(minutes after `t0`) fired|pending|canceled". */
async function timers(id: string, t0: number): Promise<string[]> {
  const rows = await ts.store.db.selectFrom('escalation_timers').selectAll().where('incident_id', '=', id).orderBy('pass').orderBy('step').execute();
  return rows.map((t) => `${t.pass}/${t.step} +${(Number(t.due_at) - t0) / MIN}m ${t.fired_at !== null ? 'fired' : t.canceled_at !== null ? 'canceled' : 'pending'}`);
}

/** The due timer of each incident, in the order given (as the scheduler hands them to `fireBatch`). */
async function dueTimers(...ids: string[]) {
  const rows = await ts.store.db.selectFrom('escalation_timers').selectAll().where('incident_id', 'in', ids).where('fired_at', 'is', null).where('canceled_at', 'is', null).execute();
  return ids.map((id) => rows.find((r) => r.incident_id === id)!);
}

const incident = async (id: string) => (await stack.incidents.inTransaction((trx) => stack.incidents.find(trx, 'acme', id)))!;

async function advance(ms: number) {
  clock.advance(ms);
  stack.escalation.wake();
}

/** Lets the scheduler run a few rounds (to show that something does NOT happen). */
const settle = () => new Promise((r) => setTimeout(r, 150));

describe('escalation, with pages that are on their way', () => {
  const YAML = `${user('ann')}---
${user('ben')}---
apiVersion: keel/v1
kind: Schedule
metadata: {name: primary}
spec:
  timeZone: UTC
  layers: [{name: l, users: [ben], start: "2026-01-01", turn: 1w}]
---
apiVersion: keel/v1
kind: Schedule
metadata: {name: empty}
spec:
  timeZone: UTC
  layers: [{name: later, users: [ann], start: "2030-01-07", turn: 1w}]
---
apiVersion: keel/v1
kind: Channel
metadata: {name: ops}
spec: {type: email, address: ops@example.com}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: team}
spec:
  repeat: 1
  steps:
    - {notify: {users: [ben], schedules: [primary], channels: [ops]}, wait: 10m}
    - {notify: {users: [ann]}, wait: 20m}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: silent}
spec:
  repeat: 1
  steps:
    - {notify: {schedules: [empty]}, wait: 1h}
    - {notify: {schedules: [empty]}, wait: 2h}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: patient}
spec: {acknowledgementTimeout: 30m, steps: [{notify: {users: [ann]}, wait: 1h}]}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: oncall}
spec: {steps: [{notify: {schedules: [primary]}, wait: 10m}]}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: fleeting}
spec:
  steps:
    - {notify: {schedules: [empty]}, wait: 1h}
    - {notify: {users: [ann]}, wait: 1h}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: doomed}
spec:
  steps:
    - {notify: {schedules: [empty]}, wait: 1h}
    - {notify: {users: [ann]}, wait: 1h}
---
apiVersion: keel/v1
kind: Channel
metadata: {name: pager}
spec: {type: email, address: pager@example.com}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: relay}
spec: {steps: [{notify: {channels: [pager]}, wait: 10m}, {notify: {users: [ann]}, wait: 10m}]}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: tardy}
spec:
  steps:
    - {notify: {users: [ann]}, wait: 10m}
    - {notify: {schedules: [empty]}, wait: 10m}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: brittle}
spec: {steps: [{notify: {users: [ann]}, wait: 10m}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: patient}
spec: {escalationPolicy: patient, autoResolve: false}
---
apiVersion: keel/v1
kind: Service
metadata: {name: calm}
spec: {escalationPolicy: team, autoResolve: false}
---
apiVersion: keel/v1
kind: Service
metadata: {name: hush}
spec: {escalationPolicy: silent}
---
apiVersion: keel/v1
kind: Service
metadata: {name: orphan}
spec: {}
---
apiVersion: keel/v1
kind: Service
metadata: {name: stray}
spec: {}
`;

  /** What the services logged at warn and above (the batch tests read the scheduler's warnings). */
  const logged: { level: string; msg: string; timers?: number }[] = [];

  beforeAll(async () => {
    ts = await openTestStore('sqlite');
    stack = await startPagingStack(ts.store, clock, YAML, { logger: createLogger('warn', { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) }) });
  });
  afterAll(async () => {
    await stack?.stop();
    await ts?.close();
  });

  it('pages each step’s people once (a user also on call once, a channel), each step after the previous step’s own wait, over both passes, then stops', async () => {
    const t0 = clock.now();
    const inc = await open('team', 'team');
    await waitFor('step 1', async () => (await pages(inc.id)).length === 2);
    expect(await pages(inc.id)).toEqual(['0/0 ben@example.com pending', '0/0 ops@example.com pending']);
    expect(await stack.escalation.state(inc.id)).toEqual({ policy: 'team', status: 'active', pass: 0, step: 0, nextAt: t0 + 10 * MIN });
    // Not a millisecond early.
    await advance(10 * MIN - 1);
    await settle();
    expect(await pages(inc.id)).toHaveLength(2);
    await advance(1);
    await waitFor('step 2', async () => (await pages(inc.id)).length === 3);
    expect((await pages(inc.id))[2]).toBe('0/1 ann@example.com pending');
    expect(await stack.escalation.state(inc.id)).toEqual({ policy: 'team', status: 'active', pass: 0, step: 1, nextAt: t0 + 30 * MIN });
    await advance(20 * MIN);
    await waitFor('pass 2, step 1', async () => (await pages(inc.id)).length === 5);
    expect((await pages(inc.id)).slice(3)).toEqual(['1/0 ben@example.com pending', '1/0 ops@example.com pending']);
    await advance(10 * MIN);
    await waitFor('pass 2, step 2', async () => (await pages(inc.id)).length === 6);
    await waitFor('exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    expect(await stack.escalation.state(inc.id)).toEqual({ policy: 'team', status: 'exhausted', pass: 1, step: 1, nextAt: null });
    await advance(2 * 60 * MIN);
    await settle();
    expect(await pages(inc.id)).toEqual([
      '0/0 ben@example.com pending',
      '0/0 ops@example.com pending',
      '0/1 ann@example.com pending',
      '1/0 ben@example.com pending',
      '1/0 ops@example.com pending',
      '1/1 ann@example.com pending',
    ]);
    expect(await timers(inc.id, t0)).toEqual(['0/0 +0m fired', '0/1 +10m fired', '1/0 +30m fired', '1/1 +40m fired']);
    expect(await timeline(inc.id)).toEqual([
      'Escalation step 1 of team (pass 1 of 2): paging ben, channel ops',
      'Escalation step 2 of team (pass 1 of 2): paging ann',
      'Escalation step 1 of team (pass 2 of 2): paging ben, channel ops',
      'Escalation step 2 of team (pass 2 of 2): paging ann',
    ]);
    // Pages were on their way: the incident is not marked as having paged nobody.
    expect((await incident(inc.id)).unpaged).toBeNull();
    expect(await actors(inc.id)).toEqual(['system']);
    const [first, second] = await timelineData(inc.id);
    expect(first![1]).toEqual({ policy: 'team', pass: 0, step: 0, paged: [expect.any(String)], channels: ['ops'], missing: [], jobs: 2 });
    expect(second![1]).toEqual({ policy: 'team', pass: 0, step: 1, paged: [expect.any(String)], channels: [], missing: [], jobs: 1 });
  });

  it('runs at once through every step and pass of a policy that can page nobody, and says nobody was paged', async () => {
    const t0 = clock.now();
    const inc = await open('silent', 'silent');
    await waitFor('exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    expect(await timers(inc.id, t0)).toEqual(['0/0 +0m fired', '0/1 +0m fired', '1/0 +0m fired', '1/1 +0m fired']);
    expect(await pages(inc.id)).toEqual([]);
    expect(await timeline(inc.id)).toEqual([
      'Escalation step 1 of silent (pass 1 of 2): nobody to page; missing: nobody on call in empty',
      'Escalation step 2 of silent (pass 1 of 2): nobody to page; missing: nobody on call in empty',
      'Escalation step 1 of silent (pass 2 of 2): nobody to page; missing: nobody on call in empty',
      'Escalation step 2 of silent (pass 2 of 2): nobody to page; missing: nobody on call in empty',
      'Nobody was paged: no step of escalation policy silent had anyone to page; the tenant has no admin to notify',
    ]);
    expect((await incident(inc.id)).unpaged).toEqual({ reason: 'no step of escalation policy silent had anyone to page', at: t0 });
    expect((await timelineData(inc.id))[4]![1]).toEqual({ unpaged: 'nobody_to_page', reason: 'no step of escalation policy silent had anyone to page', fallback: 'admins', admins: [] });
  });

  it('says nobody is paged when an alert’s service has no policy, and not when someone declared without one', async () => {
    const declared = await open('declared, no paging', null);
    expect(await stack.escalation.state(declared.id)).toBeUndefined();
    expect(await timeline(declared.id)).toEqual([]);
    expect((await incident(declared.id)).unpaged).toBeNull();
    const asked = await open('declared, paging asked', null, 'integration:test');
    expect(await timeline(asked.id)).toEqual(['Nobody was paged: service (none) has no escalation policy; the tenant has no admin to notify']);
    const unknown = await open('unknown policy', 'nope');
    expect(await stack.escalation.state(unknown.id)).toBeUndefined();
    expect(await timelineData(unknown.id)).toEqual([
      ['Escalation policy nope not found: nobody is paged', { policy: 'nope' }],
      ['Nobody was paged: escalation policy nope does not exist; the tenant has no admin to notify', expect.anything()],
    ]);
  });

  it('starts the escalation of an unpaged incident once its service gets a policy (noticed when applied, or when the scheduler starts), once', async () => {
    const service = (name: string, policy: string) => ({ file: `${name}.yaml`, content: `apiVersion: keel/v1\nkind: Service\nmetadata: {name: ${name}}\nspec: {escalationPolicy: ${policy}}\n` });
    const orphan = await signal('orphan', 'firing');
    const stray = await signal('stray', 'firing');
    const hush = await signal('hush', 'firing');
    await waitFor('marked', async () => (await incident(orphan.id)).unpaged !== null && (await incident(stray.id)).unpaged !== null && (await incident(hush.id)).unpaged !== null);
    expect((await incident(orphan.id)).unpaged?.reason).toBe('service orphan has no escalation policy');
    expect((await incident(hush.id)).unpaged?.reason).toBe('no step of escalation policy silent had anyone to page');
    expect(await pages(orphan.id)).toEqual([]);
    const hushTimeline = await timeline(hush.id);
    expect(hushTimeline).toHaveLength(5);

    // Applied while the scheduler runs.
    await stack.definitions.apply('acme', [service('orphan', 'oncall')], 'test');
    await waitFor('the first step', async () => (await pages(orphan.id)).length === 1);
    expect(await pages(orphan.id)).toEqual(['0/0 ben@example.com pending']);
    const now = await incident(orphan.id);
    expect(now.unpaged).toBeNull();
    expect(now.escalationPolicy).toBe('oncall');
    expect((await timelineData(orphan.id)).slice(1)).toEqual([
      ['Service orphan now has escalation policy oncall: escalation starts', { policy: 'oncall', previously_unpaged: 'service orphan has no escalation policy' }],
      ['Escalation step 1 of oncall: paging ben (on call in primary)', { policy: 'oncall', pass: 0, step: 0, paged: [expect.any(String)], channels: [], missing: [], jobs: 1 }],
    ]);
    // The incident whose service still has no policy, and the one whose policy pages nobody, are left as they are.
    await settle();
    expect(await timeline(stray.id)).toEqual(['Nobody was paged: service stray has no escalation policy; the tenant has no admin to notify']);
    expect((await incident(stray.id)).unpaged).not.toBeNull();
    expect(await timeline(hush.id)).toEqual(hushTimeline);

    // Applied while the scheduler is stopped: noticed when it starts.
    await stack.escalation.stop();
    await stack.definitions.apply('acme', [service('hush', 'oncall')], 'test');
    stack.escalation.run();
    await waitFor('the hush page', async () => (await pages(hush.id)).length === 1);
    expect(await timers(hush.id, 0)).toHaveLength(1);
    expect((await timeline(hush.id)).slice(5)).toEqual(['Service hush now has escalation policy oncall: escalation starts', 'Escalation step 1 of oncall: paging ben (on call in primary)']);
    // Applying again starts nothing twice.
    await stack.definitions.apply('acme', [service('orphan', 'oncall'), service('hush', 'oncall')], 'test');
    await settle();
    expect(await pages(orphan.id)).toHaveLength(1);
    expect(await pages(hush.id)).toHaveLength(1);
    for (const i of [orphan, stray, hush]) await transition(i.id, 'resolved');
  });

  it('leaves an acknowledged incident alone when its policy has no acknowledgement timeout', async () => {
    const inc = await signal('calm', 'firing');
    await waitFor('the pages', async () => (await pages(inc.id)).length === 2);
    await transition(inc.id, 'acknowledged');
    // Acknowledging stopped the escalation: step 2 never fires.
    expect(await stack.escalation.state(inc.id)).toEqual({ policy: 'team', status: 'stopped', pass: 0, step: 0, nextAt: null });
    await advance(3 * 60 * MIN);
    await settle();
    expect((await incident(inc.id)).state).toBe('acknowledged');
    expect(await pages(inc.id)).toHaveLength(2);
    await transition(inc.id, 'resolved');
    // Noted once, with who stopped it, not again when resolved.
    const notes = (await ts.store.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', inc.id).where('type', '=', 'escalation').orderBy('seq').execute()).map((e) => [
      e.actor,
      e.message,
      JSON.parse(e.data_json),
    ]);
    expect(notes.slice(1)).toEqual([['user:ann', 'Escalation stopped: incident acknowledged', { status: 'stopped' }]]);
  });

  it('ends, saying nobody was paged, when the policy lost its next step or was deleted before anyone was paged', async () => {
    // The scheduler may commit the first step of each (one batch or two), then its lease is lost
    // until the policies have changed: the fence refuses once both first steps were fired.
    let leaseBack = false;
    await stack.escalation.stop();
    const shortened = await open('shortened', 'fleeting');
    const deleted = await open('deleted', 'doomed');
    stack.escalation.run(async (trx) => {
      if (leaseBack) return;
      const fired = await trx.selectFrom('escalation_timers').select('id').where('incident_id', 'in', [shortened.id, deleted.id]).where('step', '=', 0).where('fired_at', 'is not', null).execute();
      if (fired.length >= 2) throw new Error('lease lost');
    });
    try {
      await waitFor('both first steps', async () => (await timers(shortened.id, 0)).length === 2 && (await timers(deleted.id, 0)).length === 2);
      await stack.definitions.apply(
        'acme',
        [{ file: 'fleeting.yaml', content: 'apiVersion: keel/v1\nkind: EscalationPolicy\nmetadata: {name: fleeting}\nspec: {steps: [{notify: {schedules: [empty]}, wait: 1h}]}\n' }],
        'test',
      );
      await stack.definitions.remove('acme', 'EscalationPolicy', 'doomed', 'test');
      leaseBack = true;
      stack.escalation.wake();
      await waitFor('both ended', async () => (await incident(shortened.id)).unpaged !== null && (await incident(deleted.id)).unpaged !== null);
      expect((await incident(shortened.id)).unpaged?.reason).toBe('escalation policy fleeting ended before anyone was paged');
      expect((await incident(deleted.id)).unpaged?.reason).toBe('escalation policy doomed was deleted before anyone was paged');
      expect((await timelineData(shortened.id)).slice(1)).toEqual([
        [
          'Nobody was paged: escalation policy fleeting ended before anyone was paged; the tenant has no admin to notify',
          { unpaged: 'nobody_to_page', reason: 'escalation policy fleeting ended before anyone was paged', fallback: 'admins', admins: [] },
        ],
        ['Escalation policy fleeting has no step 2 any more; escalation ends', { policy: 'fleeting', pass: 0, step: 1 }],
      ]);
      expect((await timelineData(deleted.id)).slice(1)).toEqual([
        [
          'Nobody was paged: escalation policy doomed was deleted before anyone was paged; the tenant has no admin to notify',
          { unpaged: 'policy_missing', reason: 'escalation policy doomed was deleted before anyone was paged', fallback: 'admins', admins: [] },
        ],
        ['Escalation policy doomed was deleted; escalation ends', { policy: 'doomed', pass: 0, step: 1 }],
      ]);
      expect(await actors(shortened.id)).toEqual(['system']);
      expect(await actors(deleted.id)).toEqual(['system']);
      expect(await stack.escalation.state(shortened.id)).toMatchObject({ status: 'exhausted' });
      expect(await stack.escalation.state(deleted.id)).toMatchObject({ status: 'exhausted' });
    } finally {
      await stack.escalation.stop();
      stack.escalation.run();
    }
  });

  it('triggers again an acknowledged incident whose alert still fires after the acknowledgement timeout, from the first step; each acknowledgement re-arms it', async () => {
    const inc = await signal('patient', 'firing');
    await waitFor('the page', async () => (await pages(inc.id)).length === 1);
    await transition(inc.id, 'acknowledged');
    await advance(30 * MIN - 1);
    await settle();
    expect((await incident(inc.id)).state).toBe('acknowledged');
    await advance(1);
    await waitFor('the second page', async () => (await pages(inc.id)).length === 2);
    expect((await incident(inc.id)).state).toBe('triggered');
    expect(await pages(inc.id)).toEqual(['0/0 ann@example.com pending', '0/0 ann@example.com pending']);
    expect(await stack.escalation.state(inc.id)).toEqual({ policy: 'patient', status: 'exhausted', pass: 0, step: 0, nextAt: null });
    expect((await timeline(inc.id, 'state')).at(-1)).toBe('Triggered again: acknowledged 30m ago and its alerts still fire (acknowledgement timeout of patient)');
    // Acknowledged again 10 minutes later: the timeout counts from then.
    await advance(10 * MIN);
    await transition(inc.id, 'acknowledged');
    await advance(30 * MIN - 1);
    await settle();
    expect(await pages(inc.id)).toHaveLength(2);
    await advance(1);
    await waitFor('the third page', async () => (await pages(inc.id)).length === 3);
    // The alert stops firing; acknowledged once more, the timeout passes without a page.
    await transition(inc.id, 'acknowledged');
    await signal('patient', 'resolved');
    await advance(30 * MIN);
    await waitFor('the note', async () => (await timeline(inc.id)).includes('Acknowledgement timeout reached; no alert still fires, so it stays acknowledged'));
    expect((await incident(inc.id)).state).toBe('acknowledged');
    expect(await pages(inc.id)).toHaveLength(3);
    await transition(inc.id, 'resolved');
  });

  it('does not trigger again an incident resolved before its acknowledgement timeout', async () => {
    const inc = await signal('patient', 'firing');
    await waitFor('the page', async () => (await pages(inc.id)).length === 1);
    await transition(inc.id, 'acknowledged');
    await transition(inc.id, 'resolved');
    await advance(31 * MIN);
    await settle();
    expect((await incident(inc.id)).state).toBe('resolved');
    expect(await pages(inc.id)).toHaveLength(1);
  });

  it('does not say nobody was paged when the last step has nobody but an earlier step’s page is still on its way', async () => {
    const t0 = clock.now();
    const inc = await open('tardy', 'tardy');
    await waitFor('step 1', async () => (await pages(inc.id)).length === 1);
    await advance(10 * MIN);
    await waitFor('exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    expect(await timeline(inc.id)).toEqual(['Escalation step 1 of tardy: paging ann', 'Escalation step 2 of tardy: nobody to page; missing: nobody on call in empty']);
    expect(await pages(inc.id)).toEqual(['0/0 ann@example.com pending']);
    expect((await incident(inc.id)).unpaged).toBeNull();
    expect(await timers(inc.id, t0)).toEqual(['0/0 +0m fired', '0/1 +10m fired']);
    await transition(inc.id, 'resolved');
  });

  it('fires a batch of due timers in one transaction, each incident by its own policy, reading the people once; a policy changed since is used by the next batch', async () => {
    await stack.escalation.stop();
    const load = vi.spyOn(Directory, 'load');
    logged.length = 0;
    const t0 = clock.now();
    const a = await open('batch, team', 'team');
    const b = await open('batch, relay', 'relay');
    const c = await open('batch, oncall', 'oncall');
    // Another tenant with its own people and its own policy named team.
    await stack.definitions.apply(
      'beta',
      [{ file: 'beta.yaml', content: `${user('zed')}---\napiVersion: keel/v1\nkind: EscalationPolicy\nmetadata: {name: team}\nspec: {steps: [{notify: {users: [zed]}, wait: 10m}]}\n` }],
      'test',
    );
    const d = await stack.incidents.inTransaction((trx, fx) =>
      stack.incidents.open(trx, { tenant: 'beta', title: 'batch, beta', service: null, severity: 'SEV2', createdBy: 'test', escalationPolicy: 'team' }, fx),
    );
    try {
      let transactions = 0;
      await stack.escalation.fireBatch(await dueTimers(a.id, b.id, d.id, c.id), async () => {
        transactions++;
      });
      expect(transactions).toBe(1);
      // Once per tenant in the batch.
      expect(load).toHaveBeenCalledTimes(2);
      expect(await pages(a.id)).toEqual(['0/0 ben@example.com pending', '0/0 ops@example.com pending']);
      expect(await pages(b.id)).toEqual(['0/0 pager@example.com pending']);
      expect(await pages(c.id)).toEqual(['0/0 ben@example.com pending']);
      expect(await pages(d.id)).toEqual(['0/0 zed@example.com pending']);
      expect(await timers(b.id, t0)).toEqual(['0/0 +0m fired', '0/1 +10m pending']);
      // relay's second step now pages the ops channel instead of ann.
      await stack.definitions.apply(
        'acme',
        [
          {
            file: 'relay.yaml',
            content: 'apiVersion: keel/v1\nkind: EscalationPolicy\nmetadata: {name: relay}\nspec: {steps: [{notify: {channels: [pager]}, wait: 10m}, {notify: {channels: [ops]}, wait: 10m}]}\n',
          },
        ],
        'test',
      );
      clock.advance(10 * MIN);
      load.mockClear();
      await stack.escalation.fireBatch(await dueTimers(a.id, b.id));
      expect(load).toHaveBeenCalledTimes(1);
      expect((await pages(a.id)).slice(2)).toEqual(['0/1 ann@example.com pending']);
      expect((await pages(b.id)).slice(1)).toEqual(['0/1 ops@example.com pending']);
      expect(logged.filter((l) => l.level === 'warn')).toEqual([]);
    } finally {
      load.mockRestore();
      for (const i of [a, b, c]) await transition(i.id, 'resolved');
      await stack.incidents.inTransaction(async (trx, fx) => stack.incidents.transition(trx, (await stack.incidents.find(trx, 'beta', d.id))!, 'resolved', 'user:ann', fx));
      stack.escalation.run();
    }
  });

  it('fires a batch’s timers one by one when the batch fails: the others page, the failing one stays due and its error is reported; a refused fence pages nobody', async () => {
    await stack.escalation.stop();
    const t0 = clock.now();
    const a = await open('sound', 'team');
    const b = await open('damaged', 'brittle');
    const c = await open('sound too', 'oncall');
    const brittle = () => ts.store.db.updateTable('definitions').where('tenant_id', '=', 'acme').where('kind', '=', 'EscalationPolicy').where('name', '=', 'brittle');
    const warnings = () => logged.filter((l) => l.level === 'warn').map((l) => [l.msg, l.timers]);
    const { spec_json: intact } = await ts.store.db
      .selectFrom('definitions')
      .select('spec_json')
      .where('tenant_id', '=', 'acme')
      .where('kind', '=', 'EscalationPolicy')
      .where('name', '=', 'brittle')
      .executeTakeFirstOrThrow();
    logged.length = 0;
    try {
      const due = await dueTimers(a.id, b.id, c.id);
      await expect(
        stack.escalation.fireBatch(due, async () => {
          throw new Error('lease lost');
        }),
      ).rejects.toThrow('lease lost');
      for (const i of [a, b, c]) expect(await pages(i.id)).toEqual([]);
      expect(warnings()).toEqual([['firing a batch of escalation timers failed; firing them one by one', 3]]);
      // brittle's stored definition is damaged: firing its incident's timer fails.
      await brittle().set({ spec_json: '{damaged' }).execute();
      await expect(stack.escalation.fireBatch(due)).rejects.toThrow(SyntaxError);
      expect(await pages(a.id)).toEqual(['0/0 ben@example.com pending', '0/0 ops@example.com pending']);
      expect(await pages(b.id)).toEqual([]);
      expect(await pages(c.id)).toEqual(['0/0 ben@example.com pending']);
      expect(await timers(b.id, t0)).toEqual(['0/0 +0m pending']);
      expect(await timers(c.id, t0)).toEqual(['0/0 +0m fired']);
      expect(warnings()).toHaveLength(2);
      // Repaired, and the lease lost only for the batch's transaction: each timer then pages on its own.
      await brittle().set({ spec_json: intact }).execute();
      clock.advance(10 * MIN);
      let asked = 0;
      await stack.escalation.fireBatch(await dueTimers(a.id, b.id), async () => {
        if (asked++ === 0) throw new Error('lease lost');
      });
      expect(asked).toBe(3);
      expect((await pages(a.id)).slice(2)).toEqual(['0/1 ann@example.com pending']);
      expect(await pages(b.id)).toEqual(['0/0 ann@example.com pending']);
      expect(warnings()).toHaveLength(3);
    } finally {
      await brittle().set({ spec_json: intact }).execute();
      for (const i of [a, b, c]) await transition(i.id, 'resolved');
      stack.escalation.run();
    }
  });

  it('pages nobody while its lease is lost (the fence refuses), and each step once when it is back', async () => {
    let held = false;
    let asked = 0;
    await stack.escalation.stop();
    stack.escalation.run(async () => {
      asked++;
      if (!held) throw new Error('lease lost');
    });
    try {
      const inc = await open('fenced', 'team');
      await waitFor('the fence asked', () => asked > 0);
      await settle();
      expect(await pages(inc.id)).toEqual([]);
      expect(await stack.escalation.state(inc.id)).toMatchObject({ status: 'active', step: -1 });
      held = true;
      stack.escalation.wake();
      await waitFor('step 1', async () => (await pages(inc.id)).length === 2);
      await settle();
      expect(await pages(inc.id)).toEqual(['0/0 ben@example.com pending', '0/0 ops@example.com pending']);
      await transition(inc.id, 'resolved');
    } finally {
      await stack.escalation.stop();
      stack.escalation.run();
    }
  });
});

/**
 * A webhook receiver that holds each request until the test releases it, then refuses it for
 * good (HTTP 400): a page that fails at a moment the test chooses (within the stack's 1 s
 * delivery timeout).
 */
async function startGate(): Promise<{ url: string; held: () => number; release: () => void; close: () => Promise<void> }> {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const release = () => {
    for (const res of held.splice(0)) {
      res.statusCode = 400;
      res.end('refused on purpose');
    }
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held.length,
    release,
    close: () => {
      release();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('escalation, when pages fail', () => {
  // No SMTP server is configured: every email page fails for good at its first attempt; eve's
  // webhook page is delivered; fay's is held by the gate and refused when the test says.
  let rx: Receiver;
  let gate: Awaited<ReturnType<typeof startGate>>;
  const YAML = () => `${user('cid')}---
${user('dan')}---
apiVersion: keel/v1
kind: User
metadata: {name: eve}
spec:
  email: eve@example.com
  name: eve
  contactMethods: [{name: hook, type: webhook, url: "${rx.url}/eve"}]
---
apiVersion: keel/v1
kind: User
metadata: {name: fay}
spec:
  email: fay@example.com
  name: fay
  contactMethods: [{name: hook, type: webhook, url: "${gate.url}/fay"}]
---
apiVersion: keel/v1
kind: Schedule
metadata: {name: vacant}
spec:
  timeZone: UTC
  layers: [{name: later, users: [cid], start: "2030-01-07", turn: 1w}]
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: barren}
spec: {steps: [{notify: {schedules: [empty, vacant]}, wait: 5m}]}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: ordered}
spec:
  steps:
    - {notify: {users: [eve, fay]}, wait: 30m}
    - {notify: {users: [dan]}, wait: 5m}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: lone}
spec: {steps: [{notify: {users: [fay]}, wait: 5m}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: late}
spec: {}
---
apiVersion: keel/v1
kind: Schedule
metadata: {name: empty}
spec:
  timeZone: UTC
  layers: [{name: later, users: [dan], start: "2030-01-07", turn: 1w}]
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: half}
spec:
  steps:
    - {notify: {users: [cid, eve]}, wait: 30m}
    - {notify: {users: [dan]}, wait: 5m}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: hushed}
spec:
  steps:
    - {notify: {users: [cid]}, wait: 30m}
    - {notify: {schedules: [empty]}, wait: 5m}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: mixed}
spec:
  steps:
    - {notify: {users: [eve]}, wait: 5m}
    - {notify: {users: [cid]}, wait: 5m}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: failing}
spec:
  steps:
    - {notify: {users: [cid]}, wait: 30m}
    - {notify: {users: [dan]}, wait: 5m}
`;

  beforeAll(async () => {
    rx = await startReceiver();
    gate = await startGate();
    ts = await openTestStore('sqlite');
    stack = await startPagingStack(ts.store, clock, YAML());
    stack.notify.run();
  });
  afterAll(async () => {
    await stack?.stop();
    await ts?.close();
    await rx?.close();
    await gate?.close();
  });

  it('goes to the next step at once when every page of a step failed, and says nobody was paged when the last step’s failed too', async () => {
    const t0 = clock.now();
    const inc = await open('failing', 'failing');
    await waitFor('marked', async () => (await incident(inc.id)).unpaged !== null);
    expect((await incident(inc.id)).unpaged).toEqual({ reason: 'every page of its escalation failed', at: t0 });
    expect(await pages(inc.id)).toEqual(['0/0 cid@example.com failed', '0/1 dan@example.com failed']);
    expect(await timers(inc.id, t0)).toEqual(['0/0 +0m fired', '0/1 +0m fired']);
    expect(await timeline(inc.id)).toEqual([
      'Escalation step 1 of failing: paging cid',
      'Every page of step 1 failed; escalating to the next step now',
      'Escalation step 2 of failing: paging dan',
      'Nobody was paged: every page of its escalation failed; the tenant has no admin to notify',
    ]);
    expect(await stack.escalation.state(inc.id)).toEqual({ policy: 'failing', status: 'exhausted', pass: 0, step: 1, nextAt: null });
    expect((await timelineData(inc.id))[1]).toEqual(['Every page of step 1 failed; escalating to the next step now', { pass: 0, step: 0 }]);
    expect((await timelineData(inc.id))[3]![1]).toEqual({ unpaged: 'pages_failed', reason: 'every page of its escalation failed', fallback: 'admins', admins: [] });
    expect(await actors(inc.id)).toEqual(['system']);
  });

  it('waits the step’s wait when one of its pages failed and another is on its way or delivered', async () => {
    const t0 = clock.now();
    const inc = await open('half', 'half');
    await waitFor('cid failed, eve delivered', async () => {
      const p = await pages(inc.id);
      return p.length === 2 && p.some((x) => x.includes('cid@') && x.endsWith(' failed')) && p.some((x) => x.endsWith('/eve sent'));
    });
    await settle();
    expect(await timers(inc.id, t0)).toEqual(['0/0 +0m fired', '0/1 +30m pending']);
    expect(await pages(inc.id)).toHaveLength(2);
    expect(await timeline(inc.id)).toEqual(['Escalation step 1 of half: paging cid, eve']);
    await transition(inc.id, 'resolved');
  });

  it('says every page failed, not that nobody could be paged, when earlier pages failed and the last step had nobody', async () => {
    const inc = await open('hushed', 'hushed');
    await waitFor('marked', async () => (await incident(inc.id)).unpaged !== null);
    expect((await incident(inc.id)).unpaged?.reason).toBe('every page of its escalation failed');
  });

  it('does not say nobody was paged when a page was delivered and a later step’s failed', async () => {
    const t0 = clock.now();
    const inc = await open('mixed', 'mixed');
    await waitFor('eve’s page delivered', async () => (await pages(inc.id))[0]?.endsWith(' sent'));
    expect(rx.requests.filter((r) => r.path === '/eve' && r.body.incident?.id === inc.id)).toHaveLength(1);
    await advance(5 * MIN);
    await waitFor('cid’s page failed', async () => (await pages(inc.id))[1]?.endsWith(' failed'));
    await waitFor('exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    await settle();
    expect((await incident(inc.id)).unpaged).toBeNull();
    expect(await timers(inc.id, t0)).toEqual(['0/0 +0m fired', '0/1 +5m fired']);
    expect(await timeline(inc.id)).toEqual(['Escalation step 1 of mixed: paging eve', 'Escalation step 2 of mixed: paging cid']);
  });

  it('names everything a step misses: nobody on call in either of its schedules', async () => {
    const inc = await open('barren', 'barren');
    await waitFor('exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    expect((await timelineData(inc.id))[0]).toEqual([
      'Escalation step 1 of barren: nobody to page; missing: nobody on call in empty, nobody on call in vacant',
      { policy: 'barren', pass: 0, step: 0, paged: [], channels: [], missing: ['nobody on call in empty', 'nobody on call in vacant'], jobs: 0 },
    ]);
  });

  it('waits the step’s wait when a page fails after its sibling page was delivered', async () => {
    const t0 = clock.now();
    const inc = await open('ordered', 'ordered');
    await waitFor('eve’s page delivered while fay’s is held', async () => gate.held() === 1 && (await pages(inc.id)).includes(`0/0 ${rx.url}/eve sent`));
    gate.release();
    await waitFor('fay’s page failed', async () => (await pages(inc.id)).includes(`0/0 ${gate.url}/fay failed`));
    await settle();
    expect((await pages(inc.id)).sort()).toEqual([`0/0 ${gate.url}/fay failed`, `0/0 ${rx.url}/eve sent`].sort());
    expect(await timers(inc.id, t0)).toEqual(['0/0 +0m fired', '0/1 +30m pending']);
    expect(await timeline(inc.id)).toEqual(['Escalation step 1 of ordered: paging eve, fay']);
    await transition(inc.id, 'resolved');
  });

  it('does not say nobody was paged when the last step’s only page fails after the incident was acknowledged', async () => {
    const inc = await open('lone', 'lone');
    await waitFor('fay’s page held', () => gate.held() === 1);
    await waitFor('exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    await transition(inc.id, 'acknowledged');
    gate.release();
    await waitFor('fay’s page failed', async () => (await pages(inc.id))[0] === `0/0 ${gate.url}/fay failed`);
    await settle();
    expect((await incident(inc.id)).unpaged).toBeNull();
    expect(await timeline(inc.id)).toEqual(['Escalation step 1 of lone: paging fay']);
    await transition(inc.id, 'resolved');
  });

  // Last: it makes ada an admin of the tenant, which the tests above expect not to have one.
  it('leaves the escalation’s waits alone when a notice to the tenant’s admins fails (it belongs to no step)', async () => {
    const t0 = clock.now();
    await ts.store.db.insertInto('users').values({ id: 'usr_ada', email: 'ada@example.com', name: 'ada', time_zone: 'UTC', created_at: t0, disabled: 0 }).execute();
    await ts.store.db.insertInto('team_members').values({ tenant_id: 'acme', user_id: 'usr_ada', role: 'admin', created_at: t0 }).execute();
    // The notice stays pending until the service has a policy and its first step paged eve.
    // (The last test: a failure here leaves no stopped worker behind for another.)
    await stack.notify.stop();
    const inc = await signal('late', 'firing');
    await waitFor('marked', async () => (await incident(inc.id)).unpaged !== null);
    await stack.definitions.apply('acme', [{ file: 'late.yaml', content: 'apiVersion: keel/v1\nkind: Service\nmetadata: {name: late}\nspec: {escalationPolicy: mixed}\n' }], 'test');
    await waitFor('eve’s page', async () => (await pages(inc.id)).length === 2);
    stack.notify.run();
    await waitFor('the notice failed, eve’s page delivered', async () => {
      const p = await pages(inc.id);
      return p.includes('null/null ada@example.com failed') && p.includes(`0/0 ${rx.url}/eve sent`);
    });
    await settle();
    expect(await timers(inc.id, t0)).toEqual(['0/0 +0m fired', '0/1 +5m pending']);
    expect(await timeline(inc.id)).toEqual([
      "Nobody was paged: service late has no escalation policy; notifying the tenant's admins: ada@example.com",
      'Service late now has escalation policy mixed: escalation starts',
      'Escalation step 1 of mixed: paging eve',
    ]);
    await transition(inc.id, 'resolved');
  });
});
