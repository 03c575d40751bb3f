/**
 * Migration 0850 on both stores: the alerts and incidents tables keep only indexes a query uses,
 * and three lookups that read a whole history on SQLite are served by an index (plans checked):
 * the last alert of a dedup key, the firing alerts of a source, the open incidents that paged
 * nobody, and (migration 0820's partial index) the open incidents the gauge counts. Their answers are checked against rows written by hand.
 */
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firingAlertsOf, firingOfSource } from '../../src/alerting/alert-queries.js';
import { lastAlertOfKey } from '../../src/alerting/alert-service.js';
import { unpagedTriggeredIncidents } from '../../src/paging/escalation/unpaged.js';
import { incidentFactsQuery, openIncidentCounts, openIncidentRows, readIncidentFacts } from '../../src/paging/incidents/incident-facts.js';
import type { Db } from '../../src/store/schema.js';
import { alertRow, incidentRow } from '../helpers/rows.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const alert = (id: string, tenant: string, dedup: string, source: string, status: 'firing' | 'resolved', seen: number) =>
  alertRow({ id, tenant_id: tenant, dedup_key: dedup, source, status, last_seen: seen });

const incident = (n: number, state: string, unpaged: boolean, service: string | null) =>
  incidentRow({ id: `inc_${n}`, number: n, service, state, opened_at: 1_000 + n, unpaged_reason: unpaged ? 'no_policy' : null, unpaged_at: unpaged ? 2_000 + n : null });

async function indexNames(db: Db, engine: 'sqlite' | 'postgres', table: string): Promise<string[]> {
  const r =
    engine === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = ${table} and sql is not null order by name`.execute(db)
      : await sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = current_schema() and tablename = ${table} and indexname not like '%pkey' order by indexname`.execute(
          db,
        );
  return r.rows.map((row) => row.name);
}

describe.each(['sqlite', 'postgres'] as const)('alert and incident indexes on %s', (engine) => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await openTestStore(engine);
    await ts.store.db
      .insertInto('alerts')
      .values([
        alert('disk1', 'acme', 'disk', 'events-v2', 'resolved', 10),
        alert('disk3', 'acme', 'disk', 'events-v2', 'resolved', 30),
        alert('disk2', 'acme', 'disk', 'events-v2', 'resolved', 20),
        alert('disk-other-team', 'globex', 'disk', 'events-v2', 'resolved', 40),
        alert('quota-a', 'acme', 'quota:events', 'capacity', 'firing', 50),
        alert('quota-old', 'acme', 'quota:bytes', 'capacity', 'resolved', 5),
        alert('quota-g', 'globex', 'quota:events', 'capacity', 'firing', 60),
        alert('cpu', 'acme', 'cpu', 'alertmanager', 'firing', 70),
      ])
      .execute();
    await ts.store.db
      .insertInto('incidents')
      .values([
        incident(1, 'triggered', true, 'checkout'),
        incident(2, 'triggered', false, 'checkout'),
        incident(3, 'acknowledged', true, 'checkout'),
        incident(4, 'triggered', true, null),
        incident(5, 'triggered', true, 'search'),
        incident(6, 'resolved', false, 'checkout'),
        { ...incident(7, 'mitigated', false, 'checkout'), tenant_id: 'globex', severity: 'SEV1' },
      ])
      .execute();
  });
  afterAll(async () => ts?.close());

  it('keeps only the indexes a query uses', async () => {
    // (Keys and unique constraints are left out: SQLite's autoindexes have no SQL, PostgreSQL's primary keys are skipped.)
    expect(await indexNames(ts.store.db, engine, 'alerts')).toEqual(['alerts_dedup_seen', 'alerts_open_dedup', 'alerts_status_seen_id', 'alerts_tenant_seen_id']);
    // The unique (tenant_id, number) constraint is a named index on PostgreSQL.
    const own = engine === 'postgres' ? ['incidents_tenant_number'] : [];
    expect(await indexNames(ts.store.db, engine, 'incidents')).toEqual(
      ['incidents_grouping', 'incidents_open_opened', 'incidents_opened_at', 'incidents_opened_number', 'incidents_service_opened', 'incidents_state_opened', 'incidents_unpaged_state', ...own].sort(),
    );
  });

  it('answers the last alert of a key, the firing alerts of a source and the incidents that paged nobody', async () => {
    expect((await lastAlertOfKey.first(ts.store.db, { tenant: 'acme', dedupKey: 'disk' }))?.id).toBe('disk3');
    expect(await lastAlertOfKey.first(ts.store.db, { tenant: 'acme', dedupKey: 'none' })).toBeUndefined();
    const firing = await firingAlertsOf(ts.store.db, 'capacity');
    expect(firing.sort((a, b) => a.tenant.localeCompare(b.tenant))).toEqual([
      { tenant: 'acme', dedupKey: 'quota:events' },
      { tenant: 'globex', dedupKey: 'quota:events' },
    ]);
    const unpaged = await unpagedTriggeredIncidents.rows(ts.store.db, {});
    expect(unpaged.map((r) => r.id).sort()).toEqual(['inc_1', 'inc_5']);
  });

  it('reads the incidents opened since a time, of every tenant or one', async () => {
    expect((await readIncidentFacts(ts.store.db, { from: 1_005 })).map((f) => `${f.tenant}/${f.openedAt}`).sort()).toEqual(['acme/1005', 'acme/1006', 'globex/1007']);
    expect((await readIncidentFacts(ts.store.db, { from: 1_005, tenant: 'acme' })).map((f) => f.openedAt).sort()).toEqual([1005, 1006]);
  });

  it('counts the open incidents by tenant, service and severity (the open-incidents gauge)', async () => {
    const counts = await openIncidentCounts(ts.store.db);
    expect(counts.sort((a, b) => `${a.tenant}/${a.service}`.localeCompare(`${b.tenant}/${b.service}`))).toEqual([
      { tenant: 'acme', service: 'checkout', severity: 'SEV2', count: 3 },
      { tenant: 'acme', service: null, severity: 'SEV2', count: 1 },
      { tenant: 'acme', service: 'search', severity: 'SEV2', count: 1 },
      { tenant: 'globex', service: 'checkout', severity: 'SEV1', count: 1 },
    ]);
  });
});

describe('the plans of those lookups on SQLite', () => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await openTestStore('sqlite');
  });
  afterAll(async () => ts?.close());

  const plan = async (q: CompiledQuery) => (await ts.store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${q.sql}`, [...q.parameters]))).rows.map((r) => r.detail);

  it('finds the last alert of a key by its key, not by walking the team’s history', async () => {
    expect(await plan(lastAlertOfKey.bind(ts.store.db, { tenant: 'acme', dedupKey: 'disk' }))).toEqual(['SEARCH alerts USING INDEX alerts_dedup_seen (tenant_id=? AND dedup_key=?)']);
  });

  it('reads the firing alerts of a source from the index of firing alerts', async () => {
    expect(await plan(firingOfSource.bind(ts.store.db, { source: 'capacity' }))).toEqual(['SCAN alerts USING INDEX alerts_open_dedup']);
  });

  it('reads the open incidents for the gauge from the partial index of open incidents, not every incident', async () => {
    expect(await plan(openIncidentRows.bind(ts.store.db, {}))).toEqual(['SCAN incidents USING INDEX incidents_open_opened']);
  });

  it('reads the incidents opened since a time, of every tenant, from an index of opening times, not every incident', async () => {
    expect(await plan(incidentFactsQuery(ts.store.db, { from: 1_000 }).compile())).toEqual(['SEARCH incidents USING INDEX incidents_opened_at (opened_at>?)']);
    // One tenant's still go through (tenant_id, opened_at, number).
    expect(await plan(incidentFactsQuery(ts.store.db, { from: 1_000, tenant: 'acme' }).compile())).toEqual(['SEARCH incidents USING INDEX incidents_opened_number (tenant_id=? AND opened_at>?)']);
  });

  it('reads the incidents that paged nobody from the partial index that holds only them', async () => {
    expect(await plan(unpagedTriggeredIncidents.bind(ts.store.db, {}))).toEqual(['SEARCH incidents USING INDEX incidents_unpaged_state (state=?)']);
  });
});
