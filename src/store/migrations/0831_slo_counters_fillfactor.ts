import { sql, type Kysely } from 'kysely';
import { isPostgres } from './util.js';

/**
 * PostgreSQL: the SLO counter tables fill their heap pages to 75 % only, so the upserts that add
 * to a bucket's row (many per row: a day row takes one per write for a whole day) find room for
 * the new row version on the row's own page. Such an update is HOT: no new primary-key entry, and
 * the page's dead versions are pruned in place when it fills, without waiting for VACUUM. At the
 * default fillfactor (100) a page of counters was full from the start, every update moved the row
 * to another page with a new index entry, and the dead versions doubled the table
 * (`scripts/bench-slo-storage.mjs`: 199.8 bytes per `slo_counts` row as written, 109.1 after
 * VACUUM FULL; BENCHMARKS.md, "Counter storage per SLO per day"). HOT needs that no updated column
 * is indexed: the upserts set only the counts, and the only index is the key.
 * Pages written before this keep their fill until rewritten (VACUUM FULL, or pruning as they go).
 * SQLite updates rows in place (see 0830): nothing to do.
 */
export const COUNTER_FILLFACTOR = 75;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  for (const table of ['slo_counts', 'slo_slices', 'slo_slice_rollups']) {
    await sql`alter table ${sql.table(table)} set (fillfactor = ${sql.lit(COUNTER_FILLFACTOR)})`.execute(db);
  }
}
