/**
 * Migration 0830: a SQLite data dir with counters written before it reads the same window sums
 * and slice verdicts after it, from `WITHOUT ROWID` tables, and keeps counting into them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { CounterWriter, type GenInfo } from '../../src/slo/counter-writer.js';
import { sumSliceWindows, sumWindows, type Window } from '../../src/slo/counter-reader.js';
import { BucketCells, type GenDelta } from '../../src/slo/fold-cells.js';
import type { ResolvedSlo } from '../../src/slo/model.js';
import { migrations } from '../../src/store/migrations/index.js';
import type { Database } from '../../src/store/schema.js';
import { openSqliteStore } from '../../src/store/store.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-08-10T06:00:00Z');
const NOW = T0 + 3 * HOUR;
const COUNTER_TABLES = ['slo_counts', 'slo_slice_rollups', 'slo_slices'];

const slo: ResolvedSlo = {
  name: 's',
  service: 'svc',
  indicator: { kind: 'ratio', name: 'i', total: 'true', good: 'true' },
  window: { rolling: true, ms: 30 * 24 * HOUR, text: '30d' },
  method: 'Timeslices',
  objectives: [{ name: 'o', target: 0.5, timeSliceMs: 60_000, timeSliceTarget: 0.75 }],
  breakdown: [],
  policies: [],
};
const info = (uid: string): GenInfo | undefined => (uid === 'g' ? { slo, kind: 'ratio' } : undefined);

/** [event time, good, bad] per 10 s cell of generation `g`. */
function fold(cells: [number, number, number][]): Map<string, GenDelta> {
  const all = new BucketCells();
  for (const [at, good, bad] of cells) {
    for (let i = 0; i < good; i++) all.add(at, true);
    for (let i = 0; i < bad; i++) all.add(at, false);
  }
  return new Map([['g', { uid: 'g', streams: [{ all, combos: [], comboTree: new Map() }] }]]);
}

async function write(db: Kysely<Database>, cells: [number, number, number][]): Promise<void> {
  const w = new CounterWriter(10);
  w.begin();
  await db.transaction().execute((trx) => w.write(trx, info, fold(cells), NOW));
  w.committed();
}

// Windows crossing the 10 s, minute and hour levels; sums worked out by hand from the cells below.
const WINDOWS: Window[] = [
  { from: T0, to: T0 + 60_000 },
  { from: T0 + 60_000, to: T0 + 2 * HOUR + 20_000 },
  { from: T0, to: T0 + 3 * HOUR },
];
const CELLS: [number, number, number][] = [
  [T0, 3, 1],
  [T0 + 70_000, 2, 0],
  [T0 + 2 * HOUR + 10_000, 0, 5],
];
const EXPECTED_SUMS = [
  { good: 3, total: 4 },
  { good: 2, total: 7 },
  { good: 5, total: 11 },
];
// One-minute slices (good at 75 %): T0 3/4 good, T0+1min 2/2 good, T0+2h 0/5 bad.
const EXPECTED_SLICES = [
  { goodSlices: 1, totalSlices: 1, ratioSum: 0.75 },
  { goodSlices: 1, totalSlices: 2, ratioSum: 1 },
  { goodSlices: 2, totalSlices: 3, ratioSum: 1.75 },
];

async function reads(db: Kysely<Database>) {
  const [counts] = await sumWindows(db, [1], WINDOWS);
  const slices = await sumSliceWindows(db, 1, 60_000, 0.75, WINDOWS);
  return { counts, slices };
}

describe('migration 0830 on sqlite', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the counters of a data dir written before it: same window sums and slice verdicts, from WITHOUT ROWID tables that keep counting', async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-0830-'));
    const file = join(dir, 'state.db');
    // The data dir as a Keel before 0830 left it.
    const before = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
    const older = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0830'));
    const { error } = await new Migrator({
      db: before,
      provider: { getMigrations: async () => older },
      migrationTableName: 'keel_migrations',
      migrationLockTableName: 'keel_migrations_lock',
      allowUnorderedMigrations: true,
    }).migrateToLatest();
    expect(error).toBeUndefined();
    await write(before, CELLS);
    const old = await sql<{ name: string }>`select name from sqlite_schema where type = 'index' and tbl_name in ('slo_counts', 'slo_slices', 'slo_slice_rollups') order by name`.execute(before);
    expect(old.rows.map((r) => r.name)).toEqual(['sqlite_autoindex_slo_counts_1', 'sqlite_autoindex_slo_slice_rollups_1', 'sqlite_autoindex_slo_slices_1']);
    expect(await reads(before)).toEqual({ counts: EXPECTED_SUMS, slices: EXPECTED_SLICES });
    await before.destroy();

    const store = await openSqliteStore(file);
    try {
      const db = store.db;
      expect(await reads(db)).toEqual({ counts: EXPECTED_SUMS, slices: EXPECTED_SLICES });
      const tables = await sql<{ name: string; wr: number }>`select name, wr from pragma_table_list where name like 'slo_%' order by name`.execute(db);
      expect(tables.rows.filter((t) => COUNTER_TABLES.includes(t.name))).toEqual(COUNTER_TABLES.map((name) => ({ name, wr: 1 })));
      // A WITHOUT ROWID table is its key's b-tree: no second copy of the key in an index.
      const indexes = await sql<{ name: string }>`select name from sqlite_schema where type = 'index' and tbl_name in ('slo_counts', 'slo_slices', 'slo_slice_rollups')`.execute(db);
      expect(indexes.rows).toEqual([]);
      // The window sums of several series over an alert policy's windows seek each range of
      // buckets in the key, instead of reading every row the series have kept.
      const logged: { sql: string; parameters: readonly unknown[] }[] = [];
      const reader = new SQLite(file, { readonly: true });
      const watched = new Kysely<Database>({
        dialect: new SqliteDialect({ database: reader }),
        log: (e) => {
          if (e.level === 'query') logged.push(e.query);
        },
      });
      const end = NOW - 20_000;
      await sumWindows(
        watched,
        [1, 2, 3],
        [5 * 60_000, HOUR, 6 * HOUR, 24 * HOUR, 72 * HOUR, 720 * HOUR].map((ms) => ({ from: end - ms, to: end })),
      );
      const steps = reader
        .prepare(`explain query plan ${logged[0]!.sql}`)
        .all(...logged[0]!.parameters)
        .map((r) => (r as { detail: string }).detail)
        .filter((d) => !['COMPOUND QUERY', 'LEFT-MOST SUBQUERY', 'UNION ALL'].includes(d));
      expect(steps.length).toBeGreaterThan(3);
      expect(new Set(steps)).toEqual(new Set(['SEARCH slo_counts USING PRIMARY KEY (series_id=? AND res=? AND bucket>? AND bucket<?)']));
      await watched.destroy();

      // Counting goes on into the rebuilt tables: a second write adds to the same rows.
      await write(db, [[T0 + 2 * HOUR + 10_000, 4, 0]]);
      const [counts] = await sumWindows(db, [1], WINDOWS);
      expect(counts).toEqual([
        { good: 3, total: 4 },
        { good: 6, total: 11 },
        { good: 9, total: 15 },
      ]);
      // The T0+2h slice is now 4/9: still bad, its ratio 4/9.
      const slices = await sumSliceWindows(db, 1, 60_000, 0.75, [WINDOWS[2]!]);
      expect(slices).toEqual([{ goodSlices: 2, totalSlices: 3, ratioSum: 1.75 + 4 / 9 }]);
    } finally {
      await store.close();
    }
  });
});
