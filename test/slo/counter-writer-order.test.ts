/**
 * The order in which the counter writer writes its rows: series by key, then counts by (series,
 * resolution, bucket), slices by (series, bucket), slice rollups by (series, resolution, bucket).
 * It is the order a transaction locks those rows in, which keeps workers of different partitions
 * writing the same SLOs from deadlocking on PostgreSQL. On SQLite temporary triggers log each row
 * as it is inserted (the counter tables are WITHOUT ROWID, read back in key order whatever the
 * order of writing), so the log shows the order the rows were written in.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CounterWriter, type GenInfo } from '../../src/slo/counter-writer.js';
import { BucketCells, type GenDelta } from '../../src/slo/fold.js';
import type { ResolvedSlo } from '../../src/slo/model.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const at = (iso: string) => Date.parse(iso);
const NOW = at('2026-08-10T12:00:00Z');
// Two cells of two one-minute slices, in two hours of one day, given latest first.
const LATE = at('2026-08-10T11:51:00Z');
const EARLY = at('2026-08-10T10:50:00Z');

const sliced: ResolvedSlo = {
  name: 's',
  service: 'svc',
  indicator: { kind: 'ratio', name: 'i', total: 'true', good: 'true' },
  window: { rolling: true, ms: 86_400_000, text: '1d' },
  method: 'Timeslices',
  objectives: [{ name: 'o', target: 0.5, timeSliceMs: 60_000, timeSliceTarget: 0.5 }],
  breakdown: [],
  policies: [],
};

/** One good event at LATE and one at EARLY, for each generation, in the order given. */
function deltas(...uids: string[]): Map<string, GenDelta> {
  return new Map(
    uids.map((uid) => {
      const all = new BucketCells();
      all.add(LATE, true);
      all.add(EARLY, true);
      return [uid, { uid, streams: [{ all, combos: [], comboTree: new Map() }] }];
    }),
  );
}

let ts: TestStore;
beforeAll(async () => {
  ts = await openTestStore('sqlite');
});
afterAll(async () => ts?.close());

it('writes counts, slices and slice rollups in series, resolution and bucket order, whatever order the fold gives', async () => {
  const gens: Record<string, GenInfo> = { zulu: { slo: sliced, kind: 'ratio' }, alpha: { slo: sliced, kind: 'ratio' } };
  const db = ts.store.db;
  // One SQLite connection: the temporary log and triggers see the writer's inserts.
  await sql`create temp table write_log (seq integer primary key, tbl text not null, series_id integer not null, res integer, bucket integer not null)`.execute(db);
  for (const [table, res] of [
    ['slo_counts', 'new.res'],
    ['slo_slices', 'null'],
    ['slo_slice_rollups', 'new.res'],
  ] as const) {
    await sql
      .raw(`create temp trigger log_${table} after insert on main.${table} begin insert into write_log (tbl, series_id, res, bucket) values ('${table}', new.series_id, ${res}, new.bucket); end`)
      .execute(db);
  }
  const w = new CounterWriter(10);
  w.begin();
  await ts.store.db.transaction().execute((trx) => w.write(trx, (uid) => gens[uid], deltas('zulu', 'alpha'), NOW));
  w.committed();

  const ids = await ts.store.db.selectFrom('slo_series').select(['id', 'gen_uid']).orderBy('id').execute();
  // Series in key order: alpha's before zulu's.
  expect(ids.map((r) => r.gen_uid)).toEqual(['alpha', 'zulu']);
  const name = new Map(ids.map((r) => [Number(r.id), r.gen_uid]));
  const written = async (table: 'slo_counts' | 'slo_slices' | 'slo_slice_rollups', res: boolean) =>
    (await sql<{ series_id: number; res: number | null; bucket: number }>`select series_id, res, bucket from write_log where tbl = ${table} order by seq`.execute(db)).rows.map((r) => [
      name.get(Number(r.series_id)),
      ...(res ? [Number(r.res)] : []),
      Number(r.bucket),
    ]);

  const hour10 = at('2026-08-10T10:00:00Z');
  const hour11 = at('2026-08-10T11:00:00Z');
  const day = at('2026-08-10T00:00:00Z');
  const countsOf = (g: string) => [
    [g, 10, EARLY],
    [g, 10, LATE],
    [g, 60, EARLY],
    [g, 60, LATE],
    [g, 3600, hour10],
    [g, 3600, hour11],
    [g, 86400, day],
  ];
  expect(await written('slo_counts', true)).toEqual([...countsOf('alpha'), ...countsOf('zulu')]);
  expect(await written('slo_slices', false)).toEqual([
    ['alpha', EARLY],
    ['alpha', LATE],
    ['zulu', EARLY],
    ['zulu', LATE],
  ]);
  const rollupsOf = (g: string) => [
    [g, 3600, hour10],
    [g, 3600, hour11],
    [g, 86400, day],
  ];
  expect(await written('slo_slice_rollups', true)).toEqual([...rollupsOf('alpha'), ...rollupsOf('zulu')]);
});
