/**
 * Paging records many alerts, escalation steps and delivery outcomes per transaction (one commit
 * for many; see docs/paging.md, "Storms"). These tests make ONE item of such a batch fail in the
 * store itself (a trigger that raises for that row only, on SQLite and PostgreSQL) and check that
 * the others still take effect exactly once, that the failing one takes effect once the fault is
 * gone, and that nothing is lost or paged twice.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AfterCommit } from '../../src/core/after-commit.js';
import { FakeClock } from '../../src/core/clock.js';
import type { Store, StoreEngine } from '../../src/store/store.js';
import { waitFor } from '../helpers/paging.js';
import { startPagingStack, type PagingStack } from '../helpers/paging-stack.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

/** A webhook receiver that can hold its answers until several requests wait, then answer them all at once. */
interface HookReceiver {
  url: string;
  /** Delivery ids (X-Keel-Delivery) received, in order, with the incident title and the alerts' summaries of each. */
  received: { delivery: string; title: string; alerts: string[] }[];
  /** Answer nothing until this many requests wait (0: answer at once). */
  holdUntil: number;
  /** Answer at once from now on, the requests waiting too. */
  release(): void;
  close(): Promise<void>;
}

async function startHookReceiver(): Promise<HookReceiver> {
  const waiting: ServerResponse[] = [];
  const r: HookReceiver = {
    url: '',
    received: [],
    holdUntil: 0,
    release: () => {
      r.holdUntil = 0;
      for (const w of waiting.splice(0)) w.end('ok');
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { incident: { title: string }; alerts: { summary: string }[] };
      r.received.push({ delivery: String(req.headers['x-keel-delivery']), title: body.incident.title, alerts: body.alerts.map((a) => a.summary) });
      waiting.push(res);
      if (waiting.length >= r.holdUntil) for (const w of waiting.splice(0)) w.end('ok');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return r;
}

/**
 * Makes the store refuse writes of the rows `condition` (SQL over NEW) picks, with an error that
 * names `name`; returns how to remove the fault.
 */
async function injectFault(store: Store, name: string, table: string, event: 'INSERT' | 'UPDATE', condition: string): Promise<() => Promise<void>> {
  if (store.engine === 'sqlite') {
    await sql.raw(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW WHEN ${condition} BEGIN SELECT RAISE(ABORT, 'injected fault ${name}'); END`).execute(store.db);
    return async () => {
      await sql.raw(`DROP TRIGGER ${name}`).execute(store.db);
    };
  }
  await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF ${condition} THEN RAISE EXCEPTION 'injected fault ${name}'; END IF; RETURN NEW; END $$`).execute(store.db);
  await sql.raw(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`).execute(store.db);
  return async () => {
    await sql.raw(`DROP TRIGGER ${name} ON ${table}`).execute(store.db);
    await sql.raw(`DROP FUNCTION ${name}()`).execute(store.db);
  };
}

const yaml = (hook: string) => `apiVersion: keel/v1
kind: User
metadata: {name: ann}
spec:
  email: ann@example.com
  name: Ann
  contactMethods: [{name: hook, type: webhook, url: "${hook}/ann"}]
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: ann-first}
spec: {steps: [{notify: {users: [ann]}, wait: 1h}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: web}
spec: {escalationPolicy: ann-first, alertGrouping: {by: [check]}}
`;

describe.each<StoreEngine>(['sqlite', 'postgres'])('batched paging on %s: one failing item', (engine) => {
  const clock = new FakeClock('2026-07-01T09:00:00Z');
  let ts: TestStore;
  let stack: PagingStack;
  let hook: HookReceiver;

  beforeAll(async () => {
    hook = await startHookReceiver();
    ts = await openTestStore(engine);
    stack = await startPagingStack(ts.store, clock, yaml(hook.url), { deliver: true });
  });
  afterAll(async () => {
    await stack?.stop();
    await ts?.close();
    await hook?.close();
  });

  const fire = (key: string) =>
    stack.alerts.signal({ tenant: 'acme', dedupKey: key, source: 'test', status: 'firing', severity: 'page', summary: `${key} is down`, service: 'web', labels: { check: key } });
  const incidentOf = async (key: string) => (await stack.incidents.list('acme')).find((i) => i.title === `${key} is down`);
  const jobsOf = (incidentId: string) => ts.store.db.selectFrom('notification_jobs').select(['id', 'status', 'attempts']).where('incident_id', '=', incidentId).execute();
  const deliveriesOf = (key: string) => hook.received.filter((r) => r.title === `${key} is down`).map((r) => r.delivery);

  it('signals that arrive together: the one the store refuses fails alone, every other is recorded once and pages once', async () => {
    const heal = await injectFault(ts.store, 'fail_signal', 'alerts', 'INSERT', `NEW.dedup_key = 'sig-bad'`);
    // On SQLite, sent in the same turn of the event loop: they share one transaction, which the
    // refused one rolls back; each is then recorded on its own. PostgreSQL records each signal in
    // its own transaction: one after the other there (concurrent outbox appends can commit out of
    // seq order, and the paging consumer then skips the earlier one: a known gap, not this test's).
    const keys = ['sig-1', 'sig-2', 'sig-bad', 'sig-3', 'sig-2', 'sig-4'];
    const results: PromiseSettledResult<unknown>[] = [];
    if (engine === 'sqlite') results.push(...(await Promise.allSettled(keys.map(fire))));
    else for (const k of keys) results.push(...(await Promise.allSettled([fire(k)])));
    await heal();
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/injected fault fail_signal/);

    const alerts = await ts.store.db.selectFrom('alerts').select(['dedup_key', 'count']).where('dedup_key', 'like', 'sig-%').orderBy('dedup_key').execute();
    expect(alerts.map((a) => [a.dedup_key, Number(a.count)])).toEqual([
      ['sig-1', 1],
      ['sig-2', 2],
      ['sig-3', 1],
      ['sig-4', 1],
    ]);
    const transitions = await ts.store.db.selectFrom('alert_transitions').select('dedup_key').where('dedup_key', 'like', 'sig-%').orderBy('dedup_key').execute();
    expect(transitions.map((t) => t.dedup_key)).toEqual(['sig-1', 'sig-2', 'sig-3', 'sig-4']);

    for (const k of ['sig-1', 'sig-2', 'sig-3', 'sig-4']) await waitFor(`the page for ${k}`, () => deliveriesOf(k).length > 0);
    // The refused signal sent again now opens its alert and pages.
    await fire('sig-bad');
    await waitFor('the page for sig-bad', () => deliveriesOf('sig-bad').length > 0);
    await stack.consumer.drain();
    for (const k of ['sig-1', 'sig-2', 'sig-3', 'sig-4', 'sig-bad']) {
      const incident = (await incidentOf(k))!;
      // Received, then recorded: wait for the record.
      await waitFor(`the ${k} page recorded`, async () => (await jobsOf(incident.id))[0]?.status === 'sent');
      expect(deliveriesOf(k), k).toHaveLength(1);
      expect(await jobsOf(incident.id), k).toEqual([expect.objectContaining({ status: 'sent', attempts: 1 })]);
    }
  });

  /**
   * Opened outside the paging consumer, as a declaration is: the first step is a due timer that
   * the scheduler fires (the consumer fires the first steps of its own incidents itself).
   */
  const declare = (key: string) =>
    ts.store.db
      .transaction()
      .execute((trx) =>
        stack.incidents.open(
          trx,
          { tenant: 'acme', title: `${key} is down`, service: 'web', severity: 'SEV2', groupingKey: key, escalationPolicy: 'ann-first', createdBy: 'user:test', expectsPaging: true },
          new AfterCommit(),
        ),
      );

  it('the paging consumer fires the first escalation steps of the incidents it opens in its own transaction, with no scheduler round: the page carries the alert', async () => {
    await stack.escalation.stop();
    try {
      for (const k of ['first-a', 'first-b']) await fire(k);
      await stack.consumer.drain();
      for (const k of ['first-a', 'first-b']) {
        const incident = (await waitFor(`the ${k} incident`, () => incidentOf(k)))!;
        // Queued by the routing transaction itself: the scheduler is stopped.
        expect(await jobsOf(incident.id), k).toHaveLength(1);
        const timers = await ts.store.db.selectFrom('escalation_timers').select(['step', 'fired_at']).where('incident_id', '=', incident.id).execute();
        expect(timers, k).toEqual([{ step: 0, fired_at: expect.anything() }]);
        const timeline = await ts.store.db.selectFrom('incident_timeline').select(['type', 'message']).where('incident_id', '=', incident.id).orderBy('at').orderBy('seq').execute();
        // Opened, its alert attached, then the step that pages (its page queued first): the page lists the alert.
        expect(timeline.slice(0, 4)).toEqual([
          { type: 'state', message: `Incident #${incident.number} opened (SEV2): ${k} is down` },
          { type: 'alert', message: `Alert [page] ${k} is down` },
          { type: 'notification', message: 'Paging ann via hook' },
          { type: 'escalation', message: 'Escalation step 1 of ann-first: paging ann' },
        ]);
        await waitFor(`the ${k} page`, () => deliveriesOf(k).length > 0);
        const page = hook.received.find((r) => r.title === `${k} is down`)!;
        expect(page.alerts).toEqual([`${k} is down`]);
      }
    } finally {
      stack.escalation.run();
    }
  });

  it('a first step that cannot fire with its incident rolls back alone: the incident opens, the others page, and the scheduler pages it once the fault is gone', async () => {
    await stack.escalation.stop();
    let heal: (() => Promise<void>) | undefined;
    try {
      heal = await injectFault(ts.store, 'fail_first', 'notification_jobs', 'INSERT', `NEW.message_json LIKE '%first-bad is down%'`);
      for (const k of ['first-ok1', 'first-bad', 'first-ok2']) await fire(k);
      await stack.consumer.drain();
      const bad = (await waitFor('the first-bad incident', () => incidentOf('first-bad')))!;
      expect(bad.state).toBe('triggered');
      expect(await jobsOf(bad.id)).toEqual([]);
      const timer = await ts.store.db.selectFrom('escalation_timers').select(['step', 'fired_at']).where('incident_id', '=', bad.id).execute();
      expect(timer).toEqual([{ step: 0, fired_at: null }]);
      for (const k of ['first-ok1', 'first-ok2']) expect(await jobsOf((await incidentOf(k))!.id), k).toHaveLength(1);
      await heal();
      heal = undefined;
    } finally {
      await heal?.();
      stack.escalation.run();
    }
    await waitFor('the first-bad page', () => deliveriesOf('first-bad').length > 0);
    await waitFor('the first-bad page recorded', async () => (await jobsOf((await incidentOf('first-bad'))!.id))[0]?.status === 'sent');
    for (const k of ['first-ok1', 'first-bad', 'first-ok2']) expect(deliveriesOf(k), k).toHaveLength(1);
  });

  it('escalation steps fired in one transaction: the one whose page cannot be written rolls back alone and fires once the fault is gone', async () => {
    await stack.escalation.stop();
    try {
      for (const k of ['esc-a', 'esc-b', 'esc-c']) await declare(k);
      const incidents = await Promise.all(['esc-a', 'esc-b', 'esc-c'].map((k) => waitFor(`the ${k} incident`, () => incidentOf(k))));
      const [a, b, c] = incidents.map((i) => ({ id: i.id })) as [{ id: string }, { id: string }, { id: string }];
      const timers = await ts.store.db
        .selectFrom('escalation_timers')
        .selectAll()
        .where(
          'incident_id',
          'in',
          incidents.map((i) => i.id),
        )
        .orderBy('due_at')
        .execute();
      expect(timers).toHaveLength(3);

      const heal = await injectFault(ts.store, 'fail_page', 'notification_jobs', 'INSERT', `NEW.incident_id = '${b.id}'`);
      await expect(stack.escalation.fireBatch(timers)).rejects.toThrow(/injected fault fail_page/);
      const fired = async (id: string) => (await ts.store.db.selectFrom('escalation_timers').select('fired_at').where('incident_id', '=', id).executeTakeFirstOrThrow()).fired_at;
      expect(await fired(a.id)).not.toBeNull();
      expect(await fired(b.id)).toBeNull();
      expect(await fired(c.id)).not.toBeNull();
      expect(await jobsOf(b.id)).toEqual([]);

      await heal();
      // The same (stale) timer rows again, as a scheduler that read them before would: the two
      // that fired are not claimed twice, the third fires now.
      await stack.escalation.fireBatch(timers);
      expect(await fired(b.id)).not.toBeNull();
      for (const i of [a, b, c]) expect(await jobsOf(i.id)).toHaveLength(1);
    } finally {
      stack.escalation.run();
    }
    for (const k of ['esc-a', 'esc-b', 'esc-c']) {
      const incident = (await incidentOf(k))!;
      await waitFor(`the ${k} page recorded`, async () => (await jobsOf(incident.id))[0]?.status === 'sent');
      expect(deliveriesOf(k), k).toHaveLength(1);
    }
  });

  it('delivery outcomes recorded in one transaction: the one that cannot be recorded stays pending and is sent again with the same delivery id; the others are sent once', async () => {
    const heal = await injectFault(ts.store, 'fail_record', 'notification_jobs', 'UPDATE', `NEW.message_json LIKE '%out-b is down%' AND NEW.status = 'sent'`);
    // The three pages are answered together, so their outcomes arrive in the same turn and are
    // recorded in one transaction, which the refused one rolls back.
    hook.holdUntil = 3;
    for (const k of ['out-a', 'out-b', 'out-c']) await fire(k);
    await stack.consumer.drain();
    await waitFor('the out-b page sent again', () => deliveriesOf('out-b').length >= 2);
    hook.release();
    await heal();
    for (const k of ['out-a', 'out-b', 'out-c']) await waitFor(`${k} recorded as sent`, async () => (await jobsOf((await incidentOf(k))!.id))[0]?.status === 'sent');

    expect(deliveriesOf('out-a')).toHaveLength(1);
    expect(deliveriesOf('out-c')).toHaveLength(1);
    expect(new Set(deliveriesOf('out-b')).size).toBe(1);
    for (const k of ['out-a', 'out-b', 'out-c']) {
      const jobs = await jobsOf((await incidentOf(k))!.id);
      expect(jobs, k).toEqual([expect.objectContaining({ status: 'sent', attempts: 1 })]);
      const attempts = await ts.store.db.selectFrom('notification_attempts').select('attempt').where('job_id', '=', jobs[0]!.id).execute();
      expect(
        attempts.map((x) => Number(x.attempt)),
        k,
      ).toEqual([1]);
    }
  });
});
