/**
 * The same paging code on PostgreSQL (the distributed mode's store): migrations, definitions
 * with their domain tables, the outbox consumer, escalation timers, and the per-tenant incident
 * number under concurrent declares.
 */
import { randomBytes } from 'node:crypto';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerting/alert-service.js';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import { AesGcmSecretBox } from '../../src/core/secrets.js';
import { DefinitionsService } from '../../src/definitions/definitions-service.js';
import { KindRegistry } from '../../src/definitions/kinds.js';
import { EscalationService } from '../../src/escalation/escalation-service.js';
import { policyKind } from '../../src/escalation/policy-kind.js';
import { AfterCommit } from '../../src/incidents/after-commit.js';
import { IncidentService } from '../../src/incidents/incident-service.js';
import { PagingMetrics } from '../../src/incidents/prometheus.js';
import { NotifyService } from '../../src/notify/notify-service.js';
import { SecretStore } from '../../src/notify/secret-store.js';
import { SmtpSettingsStore } from '../../src/notify/smtp-settings.js';
import { userKind } from '../../src/notify/user-kind.js';
import { OncallService } from '../../src/oncall/oncall-service.js';
import { scheduleKind } from '../../src/oncall/schedule-kind.js';
import { PeopleService } from '../../src/people/people-service.js';
import { PagingConsumer } from '../../src/routing/paging-consumer.js';
import { serviceKind } from '../../src/services/service-kind.js';
import { migrations } from '../../src/store/migrations/index.js';
import type { Database } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { waitFor } from '../helpers/paging.js';

const URL_PG = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `paging_${randomBytes(6).toString('hex')}`;
let store: Store;
const clock = new FakeClock('2026-06-01T12:00:00Z');
let incidents: IncidentService;
let consumer: PagingConsumer;
let escalation: EscalationService;
let alerts: AlertService;

/**
 * A store in a fresh schema of its own. (main's openPostgresStore lets kysely find another
 * schema's migration table in a shared database and sets search_path without waiting; the
 * distributed branch fixes both, so this test migrates its schema itself, the same way.)
 */
async function openSchemaStore(): Promise<Store> {
  pg.types.setTypeParser(20, (v) => Number(v));
  const pool = new pg.Pool({ connectionString: `${URL_PG}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, max: 10 });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'keel_migrations',
    migrationLockTableName: 'keel_migrations_lock',
    migrationTableSchema: schema,
    allowUnorderedMigrations: true,
  }).migrateToLatest();
  if (error) throw error;
  return { db, engine: 'postgres', ping: async () => undefined, close: () => db.destroy() };
}

beforeAll(async () => {
  store = await openSchemaStore();
  const bus = new Bus();
  const logger = createLogger('silent');
  const box = new AesGcmSecretBox([randomBytes(32)]);
  const metrics = new PagingMetrics(new KeelMetrics().registry);
  const kinds = new KindRegistry();
  const people = new PeopleService(store, clock);
  kinds.register(serviceKind());
  kinds.register(userKind(people, new AuditLog(store, clock)));
  kinds.register(scheduleKind());
  kinds.register(policyKind());
  const definitions = new DefinitionsService(store, kinds, clock, bus);
  alerts = new AlertService(store, clock, bus);
  incidents = new IncidentService(store, clock, bus, metrics);
  const notify = new NotifyService({
    store,
    clock,
    bus,
    logger,
    metrics,
    secrets: new SecretStore(store, box, clock),
    smtp: new SmtpSettingsStore(store, box, clock),
    box,
    newAfterCommit: () => new AfterCommit(),
    config: { publicUrl: 'http://keel.example', linkTtlMs: 3_600_000, maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20, timeoutMs: 1000, concurrency: 4, pollIntervalMs: 20 },
  });
  escalation = new EscalationService({ store, clock, logger, incidents, notify, oncall: new OncallService(store, clock), pollIntervalMs: 20, newAfterCommit: () => new AfterCommit() });
  consumer = new PagingConsumer({ store, clock, bus, logger, alerts, incidents, metrics, pollIntervalMs: 20, newAfterCommit: () => new AfterCommit() });
  await definitions.apply(
    'acme',
    [
      {
        file: 'pg.yaml',
        content: `apiVersion: keel/v1
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
      },
    ],
    'test',
  );
  consumer.run();
  escalation.run();
});

afterAll(async () => {
  await consumer?.stop();
  await escalation?.stop();
  await store?.close();
  const c = new pg.Client({ connectionString: URL_PG });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
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
      Array.from({ length: 8 }, (_, i) =>
        incidents.inTransaction((trx, fx) => incidents.open(trx, { tenant: 'acme', title: `t${i}`, service: null, severity: 'SEV4', createdBy: 'test' }, fx)),
      ),
    );
    expect(opened.map((i) => i.number).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
