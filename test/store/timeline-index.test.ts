/**
 * Migration 0840 drops the timeline's (incident_id, seq) index on both stores: one incident's
 * entries are read through (incident_id, at, seq), which the read by time needs anyway, so the
 * dropped index only cost a write per entry. The plan of the timeline read and the indexes left
 * are checked.
 */
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../helpers/stores.js';

describe.each(['sqlite', 'postgres'] as const)('the timeline indexes on %s', (engine) => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await openTestStore(engine);
  });
  afterAll(async () => ts?.close());

  it('keep (incident_id, at, seq) and no longer (incident_id, seq)', async () => {
    const names =
      engine === 'sqlite'
        ? await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'incident_timeline' and sql is not null order by name`.execute(ts.store.db)
        : await sql<{
            name: string;
          }>`select indexname as name from pg_indexes where schemaname = current_schema() and tablename = 'incident_timeline' and indexname not like '%pkey' order by indexname`.execute(ts.store.db);
    expect(names.rows.map((r) => r.name)).toEqual(['incident_timeline_incident_at']);
  });
});

describe('the timeline read on SQLite', () => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await openTestStore('sqlite');
  });
  afterAll(async () => ts?.close());

  it('reads one incident by time through the remaining index, without a sort', async () => {
    const q = ts.store.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', 'inc_1').orderBy('at').orderBy('seq').compile();
    const plan = await ts.store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${q.sql}`, [...q.parameters]));
    expect(plan.rows.map((r) => r.detail)).toEqual(['SEARCH incident_timeline USING INDEX incident_timeline_incident_at (incident_id=?)']);
  });
});
