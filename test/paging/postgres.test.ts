/**
 * The same paging code on PostgreSQL (the distributed mode's store): migrations, definitions
 * with their domain tables, the outbox consumer, escalation timers, and the per-tenant incident
 * number under concurrent declares.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import type { IncidentService } from '../../src/paging/incidents/incident-service.js';
import type { AlertService } from '../../src/alerting/alert-service.js';
import type { EscalationService } from '../../src/paging/escalation/escalation-service.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../helpers/paging.js';
import { startPagingStack, type PagingStack } from '../helpers/paging-stack.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

let ts: TestStore;
let store: Store;
let stack: PagingStack;
const clock = new FakeClock('2026-06-01T12:00:00Z');
let incidents: IncidentService;
let escalation: EscalationService;
let alerts: AlertService;

beforeAll(async () => {
  // The real PostgreSQL store (openPostgresStore: its migrations, its readiness check) in a fresh schema.
  ts = await openTestStore('postgres');
  store = ts.store;
  await store.ping();
  stack = await startPagingStack(
    store,
    clock,
    `apiVersion: keel/v1
kind: User
metadata: {name: pat}
spec:
  email: pat@example.com
  name: Pat
  contactMethods: [{name: mail, type: email, address: pat@example.com}]
---
apiVersion: keel/v1
kind: Schedule
metadata: {name: primary}
spec:
  timeZone: America/New_York
  layers: [{name: l, users: [pat], start: "2026-01-01", turn: 1w}]
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: p}
spec:
  repeat: 1
  steps: [{notify: {schedules: [primary]}, wait: 10m}]
---
apiVersion: keel/v1
kind: Service
metadata: {name: api}
spec: {escalationPolicy: p}
`,
  );
  ({ incidents, escalation, alerts } = stack);
});

afterAll(async () => {
  await stack?.stop();
  await ts?.close();
});

describe('paging on PostgreSQL', () => {
  it('routes an alert into an incident, pages the on-call person, and schedules the repeat', async () => {
    await alerts.signal({ tenant: 'acme', dedupKey: 'k1', source: 'slo', status: 'firing', severity: 'page', summary: 'Budget burning fast', service: 'api' });
    const job = await waitFor('the page', () => store.db.selectFrom('notification_jobs').selectAll().executeTakeFirst());
    expect(job).toMatchObject({ tenant_id: 'acme', channel: 'email', status: 'pending', pass: 0, step: 0 });
    const inc = (await incidents.list('acme'))[0]!;
    expect(inc).toMatchObject({ number: 1, severity: 'SEV2', state: 'triggered', escalationPolicy: 'p', createdBy: 'integration:slo' });
    const timers = await store.db.selectFrom('escalation_timers').selectAll().where('incident_id', '=', inc.id).orderBy('pass').execute();
    expect(timers.map((t) => [t.pass, t.step, Number(t.due_at) - clock.now(), t.fired_at === null])).toEqual([
      [0, 0, 0, false],
      [1, 0, 600_000, true],
    ]);
    // The repeat fires once the clock reaches it, exactly once.
    clock.advance(600_000);
    escalation.wake();
    await waitFor('the second pass', async () => (await store.db.selectFrom('notification_jobs').selectAll().execute()).length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(await store.db.selectFrom('notification_jobs').selectAll().execute()).toHaveLength(2);
    await incidents.inTransaction(async (trx, fx) => incidents.transition(trx, (await incidents.find(trx, 'acme', '1'))!, 'acknowledged', 'user:x', fx));
    expect((await store.db.selectFrom('escalations').select('status').executeTakeFirstOrThrow()).status).toBe('exhausted');
  });

  it('numbers incidents per tenant without clashes under concurrent declares', async () => {
    const opened = await Promise.all(
      Array.from({ length: 8 }, (_, i) => incidents.inTransaction((trx, fx) => incidents.open(trx, { tenant: 'acme', title: `t${i}`, service: null, severity: 'SEV4', createdBy: 'test' }, fx))),
    );
    expect(opened.map((i) => i.number).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
