/**
 * Escalation around its steps: acknowledging stops it (pending timers canceled, noted once on
 * the timeline), a policy deleted or shortened while an incident escalates ends the escalation
 * with the reason, and an incident opened with a policy that does not exist says nobody is paged
 * (silence is never quiet). Driven by a fake clock on SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { waitFor } from '../../helpers/paging.js';
import { startPagingStack, type PagingStack } from '../../helpers/paging-stack.js';
import { openTestStore, type TestStore } from '../../helpers/stores.js';

const MIN = 60_000;
const YAML = `apiVersion: keel/v1
kind: User
metadata: {name: ann}
spec:
  email: ann@example.com
  name: Ann
  contactMethods: [{name: mail, type: email, address: ann@example.com}]
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: two}
spec:
  steps:
    - {notify: {users: [ann]}, wait: 5m}
    - {notify: {users: [ann]}, wait: 5m}
`;

const clock = new FakeClock('2026-06-01T12:00:00Z');
let ts: TestStore;
let stack: PagingStack;

beforeAll(async () => {
  ts = await openTestStore('sqlite');
  stack = await startPagingStack(ts.store, clock, YAML);
});
afterAll(async () => {
  await stack?.stop();
  await ts?.close();
});

async function open(title: string, policy: string) {
  return stack.incidents.inTransaction((trx, fx) => stack.incidents.open(trx, { tenant: 'acme', title, service: null, severity: 'SEV2', createdBy: 'test', escalationPolicy: policy }, fx));
}

async function timeline(id: string) {
  return (await ts.store.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', id).where('type', '=', 'escalation').orderBy('seq').execute()).map((e) => e.message);
}

const timers = async (id: string) =>
  (await ts.store.db.selectFrom('escalation_timers').selectAll().where('incident_id', '=', id).orderBy('step').execute()).map((t) => [Number(t.step), t.fired_at !== null, t.canceled_at !== null]);

describe('escalation lifecycle', () => {
  it('stops when the incident is acknowledged: the next step never fires', async () => {
    const inc = await open('acked', 'two');
    await waitFor('step 1 fired', async () => (await stack.escalation.state(inc.id))?.step === 0);
    expect(await stack.escalation.state(inc.id)).toMatchObject({ policy: 'two', status: 'active', pass: 0, step: 0, nextAt: clock.now() + 5 * MIN });
    await stack.incidents.inTransaction(async (trx, fx) => stack.incidents.transition(trx, (await stack.incidents.find(trx, 'acme', inc.id))!, 'acknowledged', 'user:ann', fx));
    expect(await stack.escalation.state(inc.id)).toMatchObject({ status: 'stopped', nextAt: null });
    expect(await timers(inc.id)).toEqual([
      [0, true, false],
      [1, false, true],
    ]);
    // Resolving later does not note it again.
    await stack.incidents.inTransaction(async (trx, fx) => stack.incidents.transition(trx, (await stack.incidents.find(trx, 'acme', inc.id))!, 'resolved', 'user:ann', fx));
    clock.advance(10 * MIN);
    stack.escalation.wake();
    await new Promise((r) => setTimeout(r, 100));
    const notes = await timeline(inc.id);
    expect(notes.filter((m) => m.startsWith('Escalation stopped'))).toEqual(['Escalation stopped: incident acknowledged']);
    expect(notes.filter((m) => m.startsWith('Escalation step'))).toHaveLength(1);
  });

  it('ends, saying why, when the policy lost the step that is due', async () => {
    const inc = await open('shortened', 'two');
    await waitFor('step 1 fired', async () => (await stack.escalation.state(inc.id))?.step === 0);
    await stack.definitions.apply('acme', [{ file: 'p.yaml', content: YAML.replace(/    - \{notify: \{users: \[ann\]\}, wait: 5m\}\n$/, '') }], 'test');
    clock.advance(5 * MIN);
    stack.escalation.wake();
    await waitFor('exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    expect(await timeline(inc.id)).toContain('Escalation policy two has no step 2 any more; escalation ends');
  });

  it('ends, saying why, when the policy was deleted', async () => {
    await stack.definitions.apply('acme', [{ file: 'gone.yaml', content: YAML.replace(/name: two/, 'name: gone') }], 'test');
    const inc = await open('deleted', 'gone');
    await waitFor('step 1 fired', async () => (await stack.escalation.state(inc.id))?.step === 0);
    await stack.definitions.remove('acme', 'EscalationPolicy', 'gone', 'test');
    clock.advance(5 * MIN);
    stack.escalation.wake();
    await waitFor('exhausted', async () => (await stack.escalation.state(inc.id))?.status === 'exhausted');
    expect(await timeline(inc.id)).toContain('Escalation policy gone was deleted; escalation ends');
  });

  it('says nobody is paged when the incident names a policy that does not exist', async () => {
    const inc = await open('unknown policy', 'nope');
    expect(await stack.escalation.state(inc.id)).toBeUndefined();
    expect(await timeline(inc.id)).toEqual([
      'Escalation policy nope not found: nobody is paged',
      // The incident is marked as paged nobody, and the fallback (the tenant's admins) finds none here.
      'Nobody was paged: escalation policy nope does not exist; the tenant has no admin to notify',
    ]);
  });
});
