/**
 * The escalation scheduler's own behaviour, with Node's timers and Date faked so that the loop's
 * pauses and Keel's clock are one clock: it sleeps until the next step or acknowledgement timeout
 * is due (at most its poll interval) and pages at that instant, opening an incident wakes it, a
 * failing round is logged and retried after 100, 200, 400 … ms (at most 5 s) until one succeeds,
 * a step whose pages all failed hands over at once, a scheduler stopped mid-round starts nothing new, a failed after-commit effect is logged, and an
 * incident that paged nobody is adopted when its service gets a policy (at the scheduler's start
 * when no bus tells it sooner), but not when it was acknowledged or adopted meanwhile.
 * Expectations are written from the policies below.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import type { DbFence } from '../../../src/store/schema.js';
import type { EscalationDeps } from '../../../src/paging/escalation/escalation-service.js';
import type { Incident } from '../../../src/paging/incidents/incident-service.js';
import type { PagingMetrics } from '../../../src/paging/incidents/prometheus.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { startPagingStack, type PagingStack } from '../../helpers/paging-stack.js';
import { openTestStore, type TestStore } from '../../helpers/stores.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
/** Keel's clock is the (faked) Date, so the scheduler's sleeps move it. */
const clock: Clock = { now: () => Date.now() };

const user = (name: string) => `apiVersion: keel/v1
kind: User
metadata: {name: ${name}}
spec:
  email: ${name}@example.com
  name: ${name}
  contactMethods: [{name: mail, type: email, address: ${name}@example.com}]
`;
const policy = (name: string, spec: string) => `---\napiVersion: keel/v1\nkind: EscalationPolicy\nmetadata: {name: ${name}}\nspec: ${spec}\n`;
const YAML = `${user('ann')}---
${user('ben')}---
apiVersion: keel/v1
kind: Schedule
metadata: {name: empty}
spec:
  timeZone: UTC
  layers: [{name: later, users: [ann], start: "2030-01-07", turn: 1w}]
---
apiVersion: keel/v1
kind: Service
metadata: {name: orphan}
spec: {}
${policy('slow', '{steps: [{notify: {users: [ann]}, wait: 10m}, {notify: {users: [ben]}, wait: 10m}]}')}${policy(
  'slower',
  '{steps: [{notify: {users: [ann]}, wait: 25m}, {notify: {users: [ben]}, wait: 10m}]}',
)}${policy('halfhour', '{steps: [{notify: {users: [ann]}, wait: 30m}, {notify: {users: [ben]}, wait: 10m}]}')}${policy(
  'patient',
  '{acknowledgementTimeout: 30m, steps: [{notify: {users: [ann]}, wait: 1h}]}',
)}${policy('fickle', '{acknowledgementTimeout: 30m, steps: [{notify: {users: [ann]}, wait: 1h}]}')}${policy('nobody', '{steps: [{notify: {schedules: [empty]}, wait: 10m}]}')}`;

let ts: TestStore;
let stack: PagingStack;
/** What the services logged at warn and above: level, message and the error's message. */
let logged: { level: string; msg: string; err: string | undefined }[];
/** When set, counting an incident that paged nobody fails (an after-commit effect that throws). */
let metricsFail = false;
const metrics = {
  unpaged: {
    inc: () => {
      if (metricsFail) throw new Error('metrics down');
    },
  },
} as unknown as PagingMetrics;

/** The paging services on a fresh store, the scheduler running with a poll interval of an hour. */
async function start(change: (deps: EscalationDeps) => EscalationDeps = (d) => d) {
  ts = await openTestStore('sqlite');
  stack = await startPagingStack(ts.store, clock, YAML, {
    run: false,
    logger: createLogger('warn', {
      write: (line: string) => {
        const { level, msg, err } = JSON.parse(line) as { level: string; msg: string; err?: { message: string } };
        logged.push({ level, msg, err: err?.message });
      },
    }),
    escalation: (d) => change({ ...d, pollIntervalMs: HOUR, metrics }),
  });
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  logged = [];
  metricsFail = false;
});
afterEach(async () => {
  await stack?.stop();
  await ts?.close();
  vi.useRealTimers();
});

/** Lets the scheduler finish the round it is in (the store answers at once; setImmediate is real). */
async function settle() {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

/** Lets the scheduler sleep to its next round and run it: how long it slept (ms). */
async function pause(): Promise<number> {
  await settle();
  expect(vi.getTimerCount()).toBe(1);
  const before = Date.now();
  await vi.advanceTimersToNextTimerAsync();
  await settle();
  return Date.now() - before;
}

async function open(title: string, escalationPolicy: string | null, extra: { service?: string; createdBy?: string } = {}): Promise<Incident> {
  return stack.incidents.inTransaction((trx, fx) =>
    stack.incidents.open(trx, { tenant: 'acme', title, service: extra.service ?? null, severity: 'SEV2', createdBy: extra.createdBy ?? 'test', escalationPolicy }, fx),
  );
}

async function acknowledge(id: string) {
  await stack.incidents.inTransaction(async (trx, fx) => stack.incidents.transition(trx, (await stack.incidents.find(trx, 'acme', id))!, 'acknowledged', 'user:ann', fx));
}

/** The incident's pages as "pass/step address". */
async function pages(id: string): Promise<string[]> {
  const rows = await ts.store.db.selectFrom('notification_jobs').selectAll().where('incident_id', '=', id).orderBy('created_at').orderBy('pass').orderBy('step').execute();
  return rows.map((j) => `${j.pass}/${j.step} ${(JSON.parse(j.target_json) as { address: string }).address}`);
}

/** The incident's timeline entries of a type as [actor, message, data]. */
async function timeline(id: string, type = 'escalation'): Promise<[string, string, unknown][]> {
  const rows = await ts.store.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', id).where('type', '=', type).orderBy('seq').execute();
  return rows.map((e) => [e.actor, e.message, JSON.parse(e.data_json) as unknown]);
}

const unpaged = async (id: string) => (await ts.store.db.selectFrom('incidents').select('unpaged_reason').where('id', '=', id).executeTakeFirstOrThrow()).unpaged_reason;

/** Restarts the scheduler with a fence. */
async function restart(fence?: DbFence) {
  await stack.escalation.stop();
  stack.escalation.run(fence);
}

const schedulerFailed = { level: 'error', msg: 'escalation scheduler failed; retrying', err: 'lease lost' };
const effectFailed = { level: 'error', msg: 'after-commit effect failed', err: 'metrics down' };

describe('the escalation scheduler', () => {
  it('sleeps its poll interval when nothing is due, is woken by an incident opened, and sleeps until the next step is due, paging at that instant', async () => {
    await start();
    stack.escalation.run();
    expect(await pause()).toBe(HOUR);
    const a = await open('a', 'slow');
    const b = await open('b', 'slower');
    // Opening woke the sleeping scheduler: the first steps page now, not an hour later.
    await settle();
    expect(await pages(a.id)).toEqual(['0/0 ann@example.com']);
    expect(await pages(b.id)).toEqual(['0/0 ann@example.com']);
    // a's second step is due in 10 minutes, b's in 25.
    expect(await pause()).toBe(10 * MIN);
    expect(await pages(a.id)).toEqual(['0/0 ann@example.com', '0/1 ben@example.com']);
    expect(await pages(b.id)).toEqual(['0/0 ann@example.com']);
    expect(await pause()).toBe(15 * MIN);
    expect(await pages(b.id)).toEqual(['0/0 ann@example.com', '0/1 ben@example.com']);
    // Both escalations ended: nothing is due any more.
    expect(await pause()).toBe(HOUR);
    expect(logged).toEqual([]);
  });

  it('sleeps until the next acknowledgement timeout, or the next step when that is sooner', async () => {
    await start();
    stack.escalation.run();
    const x = await open('x', 'patient');
    const y = await open('y', 'patient');
    const z = await open('z', 'halfhour');
    await settle();
    await acknowledge(x.id);
    await acknowledge(z.id);
    await vi.advanceTimersByTimeAsync(5 * MIN);
    await acknowledge(y.id);
    // Acknowledging does not wake the scheduler (its next poll would see the timeouts); wake it.
    stack.escalation.wake();
    // x times out 30 minutes after its acknowledgement, 5 minutes before y; z stopped escalating.
    expect(await pause()).toBe(25 * MIN);
    expect(await timeline(x.id)).toEqual([
      ['system', 'Escalation step 1 of patient: paging ann', expect.anything()],
      ['system', 'Acknowledgement timeout reached; no alert still fires, so it stays acknowledged', { ack_timeout: 'expired' }],
    ]);
    expect((await timeline(y.id)).map((e) => e[1])).not.toContain('Acknowledgement timeout reached; no alert still fires, so it stays acknowledged');
    expect(await pause()).toBe(5 * MIN);
    expect((await timeline(y.id)).map((e) => e[1])).toContain('Acknowledgement timeout reached; no alert still fires, so it stays acknowledged');
    expect(await pause()).toBe(HOUR);
    // A step due before the next acknowledgement timeout.
    const w = await open('w', 'slow');
    const v = await open('v', 'patient');
    await settle();
    await acknowledge(v.id);
    stack.escalation.wake();
    expect(await pause()).toBe(10 * MIN);
    expect(await pages(w.id)).toEqual(['0/0 ann@example.com', '0/1 ben@example.com']);
    expect(await pause()).toBe(20 * MIN);
    expect((await timeline(v.id)).map((e) => e[1])).toContain('Acknowledgement timeout reached; no alert still fires, so it stays acknowledged');
    expect(logged).toEqual([]);
  });

  it('logs a failed round and retries after 100 ms, doubling up to 5 s, until a round succeeds; the next failure waits 100 ms again', async () => {
    await start();
    let refuse = true;
    stack.escalation.run(async () => {
      if (refuse) throw new Error('lease lost');
    });
    // Its first round found nothing due and sleeps; the incident wakes it.
    await settle();
    const inc = await open('fenced', 'slow');
    const pauses: number[] = [];
    for (let i = 0; i < 8; i++) pauses.push(await pause());
    expect(pauses).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    expect(await pages(inc.id)).toEqual([]);
    expect(logged).toEqual(Array.from({ length: 9 }, () => schedulerFailed));
    refuse = false;
    expect(await pause()).toBe(5000);
    expect(await pages(inc.id)).toEqual(['0/0 ann@example.com']);
    // Step 2 is due 10 minutes after step 1 fired.
    refuse = true;
    expect(await pause()).toBe(10 * MIN);
    expect(await pause()).toBe(100);
    expect(logged).toHaveLength(11);
    expect(await pages(inc.id)).toEqual(['0/0 ann@example.com']);
  });

  it('goes to the next step at once when every page of a step failed, without waiting for the step’s wait or its poll', async () => {
    await start();
    stack.escalation.run();
    // No mail server is configured: ann's email page fails for good at its first attempt.
    stack.notify.run();
    const inc = await open('undeliverable', 'slow');
    for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(50);
    expect(await pages(inc.id)).toEqual(['0/0 ann@example.com', '0/1 ben@example.com']);
    expect((await timeline(inc.id)).map((e) => e[1])).toEqual([
      'Escalation step 1 of slow: paging ann',
      'Every page of step 1 failed; escalating to the next step now',
      'Escalation step 2 of slow: paging ben',
      'Nobody was paged: every page of its escalation failed; the tenant has no admin to notify',
    ]);
  });

  it('starts nothing new once stopped mid-round: a due acknowledgement timeout waits for the next start', async () => {
    await start();
    stack.escalation.run();
    const p = await open('p', 'patient');
    const s = await open('s', 'halfhour');
    await settle();
    await acknowledge(p.id);
    // Stopped by the first transaction of the round in which s's second step and p's timeout are due.
    let stopNow = true;
    await restart(async () => {
      if (!stopNow) return;
      stopNow = false;
      void stack.escalation.stop();
    });
    expect(await pause()).toBe(30 * MIN);
    expect(await pages(s.id)).toEqual(['0/0 ann@example.com', '0/1 ben@example.com']);
    expect(vi.getTimerCount()).toBe(0);
    const timeout = await ts.store.db.selectFrom('ack_timeouts').selectAll().where('incident_id', '=', p.id).executeTakeFirstOrThrow();
    expect(timeout.fired_at).toBeNull();
    expect((await timeline(p.id)).map((e) => e[1])).not.toContain('Acknowledgement timeout reached; no alert still fires, so it stays acknowledged');
    stack.escalation.run();
    await settle();
    expect((await timeline(p.id)).map((e) => e[1])).toContain('Acknowledgement timeout reached; no alert still fires, so it stays acknowledged');
  });

  it('logs an after-commit effect that fails (counting an incident that paged nobody), after firing one timer, a batch, or an acknowledgement timeout', async () => {
    await start();
    metricsFail = true;
    stack.escalation.run();
    const one = await open('one', 'nobody');
    await settle();
    expect(await unpaged(one.id)).toBe('no step of escalation policy nobody had anyone to page');
    expect(logged).toEqual([effectFailed]);
    // Two at once: one batch.
    await stack.escalation.stop();
    const two = await open('two', 'nobody');
    const three = await open('three', 'nobody');
    stack.escalation.run();
    await settle();
    expect(await unpaged(two.id)).not.toBeNull();
    expect(await unpaged(three.id)).not.toBeNull();
    expect(logged).toEqual([effectFailed, effectFailed, effectFailed]);

    // An acknowledgement timeout whose policy was deleted meanwhile: triggered again, nobody paged.
    const f = await open('fickle', 'fickle');
    await stack.alerts.signal({ tenant: 'acme', dedupKey: 'fickle', source: 'test', status: 'firing', severity: 'page', summary: 'fickle is down' });
    const alert = await ts.store.db.selectFrom('alerts').selectAll().where('dedup_key', '=', 'fickle').executeTakeFirstOrThrow();
    await stack.incidents.inTransaction(async (trx, fx) =>
      stack.incidents.attachAlert(trx, f, { id: alert.id, summary: alert.summary, severity: alert.severity, source: alert.source, dedupKey: alert.dedup_key }, clock.now(), fx),
    );
    await settle();
    expect(await pages(f.id)).toEqual(['0/0 ann@example.com']);
    await acknowledge(f.id);
    await stack.definitions.remove('acme', 'EscalationPolicy', 'fickle', 'test');
    stack.escalation.wake();
    expect(await pause()).toBe(30 * MIN);
    expect((await timeline(f.id, 'state')).at(-1)).toEqual([
      'system',
      'Triggered again: acknowledged 30m 0s ago and its alerts still fire (acknowledgement timeout of fickle, a policy since deleted)',
      expect.objectContaining({ from: 'acknowledged', to: 'triggered' }),
    ]);
    expect((await timeline(f.id)).map((e) => e[1])).toEqual([
      'Escalation step 1 of fickle: paging ann',
      'Escalation policy fickle not found: nobody is paged',
      'Nobody was paged: escalation policy fickle does not exist; the tenant has no admin to notify',
    ]);
    expect(logged).toEqual([effectFailed, effectFailed, effectFailed, effectFailed]);
  });

  it('starts each incident opened in one transaction by its own policy, and says who had none', async () => {
    await start();
    stack.escalation.run();
    const [a, b, c] = await stack.incidents.inTransaction(async (trx, fx) => {
      const open1 = (title: string, escalationPolicy: string | null, createdBy = 'test') =>
        stack.incidents.open(trx, { tenant: 'acme', title, service: null, severity: 'SEV2', createdBy, escalationPolicy }, fx);
      return [await open1('a', 'slow'), await open1('b', 'nope'), await open1('c', null, 'integration:test')];
    });
    await settle();
    expect(await pages(a!.id)).toEqual(['0/0 ann@example.com']);
    expect(await timeline(b!.id)).toEqual([
      ['system', 'Escalation policy nope not found: nobody is paged', { policy: 'nope' }],
      [
        'system',
        'Nobody was paged: escalation policy nope does not exist; the tenant has no admin to notify',
        { unpaged: 'policy_missing', reason: 'escalation policy nope does not exist', fallback: 'admins', admins: [] },
      ],
    ]);
    expect(await timeline(c!.id)).toEqual([
      [
        'system',
        'Nobody was paged: service (none) has no escalation policy; the tenant has no admin to notify',
        { unpaged: 'no_policy', reason: 'service (none) has no escalation policy', fallback: 'admins', admins: [] },
      ],
    ]);
    expect(await stack.escalation.state(b!.id)).toBeUndefined();
  });

  it('without a bus, adopts an unpaged incident whose service got a policy when it next starts; not one acknowledged or adopted meanwhile, nor one of a service that does not exist', async () => {
    await start(({ bus: _bus, ...d }) => d);
    stack.escalation.run();
    const unpagedIncident = (title: string, service: string) => open(title, null, { service, createdBy: 'integration:test' });
    const o1 = await unpagedIncident('o1', 'orphan');
    const o2 = await unpagedIncident('o2', 'orphan');
    const o3 = await unpagedIncident('o3', 'orphan');
    const ghost = await unpagedIncident('ghost', 'ghost');
    await stack.definitions.apply('acme', [{ file: 'orphan.yaml', content: 'apiVersion: keel/v1\nkind: Service\nmetadata: {name: orphan}\nspec: {escalationPolicy: slow}\n' }], 'test');
    // No bus: the running scheduler does not know.
    expect(await pause()).toBe(HOUR);
    expect(await unpaged(o1.id)).toBe('service orphan has no escalation policy');
    expect(await pages(o1.id)).toEqual([]);
    // Restarted: o2 is acknowledged, and o3 adopted, by someone else between the scheduler's list and its transactions.
    await restart(async (trx) => {
      await trx.updateTable('incidents').set({ state: 'acknowledged' }).where('id', '=', o2.id).execute();
      await trx.updateTable('incidents').set({ unpaged_reason: null, unpaged_at: null }).where('id', '=', o3.id).execute();
    });
    await settle();
    expect(await unpaged(o1.id)).toBeNull();
    expect(await pages(o1.id)).toEqual(['0/0 ann@example.com']);
    expect((await timeline(o1.id)).slice(1, 2)).toEqual([
      ['system', 'Service orphan now has escalation policy slow: escalation starts', { policy: 'slow', previously_unpaged: 'service orphan has no escalation policy' }],
    ]);
    for (const other of [o2, o3]) {
      expect(await pages(other.id)).toEqual([]);
      expect(await timeline(other.id)).toHaveLength(1);
      expect(await stack.escalation.state(other.id)).toBeUndefined();
    }
    expect(await unpaged(o2.id)).toBe('service orphan has no escalation policy');
    expect(await unpaged(ghost.id)).toBe('service ghost has no escalation policy');
    expect(await timeline(ghost.id)).toHaveLength(1);
    expect(logged).toEqual([]);
  });
});
