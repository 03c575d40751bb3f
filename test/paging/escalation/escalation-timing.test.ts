/**
 * When escalation steps fire, driven by a fake clock on both engines: each step waits its OWN
 * wait (steps with unequal waits, over two passes), a step that could page nobody does not sit out
 * its wait (the next step is due at once: silence is a failure), and the policy stops after its
 * last pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import type { StoreEngine } from '../../../src/store/store.js';
import { waitFor } from '../../helpers/paging.js';
import { startPagingStack, type PagingStack } from '../../helpers/paging-stack.js';
import { openTestStore, TEST_ENGINES, type TestStore } from '../../helpers/stores.js';

const MIN = 60_000;
const user = (name: string) => `apiVersion: keel/v1
kind: User
metadata: {name: ${name}}
spec:
  email: ${name}@example.com
  name: ${name}
  contactMethods: [{name: mail, type: email, address: ${name}@example.com}]
`;
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
kind: EscalationPolicy
metadata: {name: lonely}
spec:
  steps:
    - {notify: {schedules: [empty]}, wait: 1h}
    - {notify: {users: [ann]}, wait: 10m}
    - {notify: {users: [ben]}, wait: 30m}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: uneven}
spec:
  repeat: 1
  steps:
    - {notify: {users: [ann]}, wait: 5m}
    - {notify: {users: [ben]}, wait: 20m}
---
apiVersion: keel/v1
kind: Service
metadata: {name: lonely}
spec: {escalationPolicy: lonely}
---
apiVersion: keel/v1
kind: Service
metadata: {name: uneven}
spec: {escalationPolicy: uneven}
`;

describe.each<StoreEngine>(TEST_ENGINES)('escalation timing on %s', (engine) => {
  const clock = new FakeClock('2026-06-01T12:00:00Z');
  let ts: TestStore;
  let stack: PagingStack;

  beforeAll(async () => {
    ts = await openTestStore(engine);
    stack = await startPagingStack(ts.store, clock, YAML);
  });
  afterAll(async () => {
    await stack?.stop();
    await ts?.close();
  });

  async function open(service: string): Promise<{ id: string; at: number }> {
    const at = clock.now();
    await stack.alerts.signal({ tenant: 'acme', dedupKey: service, source: 'test', status: 'firing', severity: 'page', summary: `${service} is down`, service });
    const inc = await waitFor(`the ${service} incident`, async () => (await stack.incidents.list('acme')).find((i) => i.escalationPolicy === service));
    return { id: inc.id, at };
  }

  /** The incident's timers as [pass, step, due − opened, fired]. */
  async function timers(incident: { id: string; at: number }) {
    const rows = await ts.store.db.selectFrom('escalation_timers').selectAll().where('incident_id', '=', incident.id).orderBy('pass').orderBy('step').execute();
    return rows.map((t) => [Number(t.pass), Number(t.step), Number(t.due_at) - incident.at, t.fired_at !== null]);
  }

  const timer = (incident: { id: string }, pass: number, step: number) =>
    waitFor(`timer ${pass}/${step}`, () =>
      ts.store.db.selectFrom('escalation_timers').selectAll().where('incident_id', '=', incident.id).where('pass', '=', pass).where('step', '=', step).executeTakeFirst(),
    );

  const paged = (incident: { id: string }, email: string, pass: number, step: number) =>
    waitFor(`${email} paged for ${pass}/${step}`, () =>
      ts.store.db
        .selectFrom('notification_jobs')
        .selectAll()
        .where('incident_id', '=', incident.id)
        .where('pass', '=', pass)
        .where('step', '=', step)
        .where('target_json', 'like', `%${email}%`)
        .executeTakeFirst(),
    );

  async function advance(ms: number) {
    clock.advance(ms);
    stack.escalation.wake();
  }

  it('goes on at once past a step that could page nobody, then waits the paging step’s own wait', async () => {
    const inc = await open('lonely');
    // Step 1 (nobody on call) fired at the opening; step 2 is due then too, not an hour later.
    const second = await timer(inc, 0, 1);
    expect(Number(second.due_at) - inc.at).toBe(0);
    await paged(inc, 'ann@example.com', 0, 1);
    // Step 2 paged ann: step 3 comes after step 2's wait (10m), not step 1's (1h) nor step 3's (30m).
    const third = await timer(inc, 0, 2);
    expect(Number(third.due_at) - inc.at).toBe(10 * MIN);
    const nobody = await waitFor('the timeline entry of the silent step', async () =>
      (await ts.store.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', inc.id).where('type', '=', 'escalation').execute()).find((e) =>
        String(e.message).includes('nobody to page'),
      ),
    );
    expect(nobody.message).toContain('missing: nobody on call in empty');
    await advance(10 * MIN);
    await paged(inc, 'ben@example.com', 0, 2);
    await waitFor('the policy to be exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    expect(await timers(inc)).toEqual([
      [0, 0, 0, true],
      [0, 1, 0, true],
      [0, 2, 10 * MIN, true],
    ]);
  });

  it('waits each step’s own wait over both passes, and stops after the last pass', async () => {
    const inc = await open('uneven');
    await paged(inc, 'ann@example.com', 0, 0);
    expect(Number((await timer(inc, 0, 1)).due_at) - inc.at).toBe(5 * MIN);
    await advance(5 * MIN);
    await paged(inc, 'ben@example.com', 0, 1);
    expect(Number((await timer(inc, 1, 0)).due_at) - inc.at).toBe(25 * MIN);
    await advance(20 * MIN);
    await paged(inc, 'ann@example.com', 1, 0);
    expect(Number((await timer(inc, 1, 1)).due_at) - inc.at).toBe(30 * MIN);
    await advance(5 * MIN);
    await paged(inc, 'ben@example.com', 1, 1);
    await waitFor('the policy to be exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    expect(await stack.escalation.state(inc.id)).toMatchObject({ status: 'exhausted', pass: 1, step: 1, nextAt: null });
    expect(await timers(inc)).toEqual([
      [0, 0, 0, true],
      [0, 1, 5 * MIN, true],
      [1, 0, 25 * MIN, true],
      [1, 1, 30 * MIN, true],
    ]);
  });
});
