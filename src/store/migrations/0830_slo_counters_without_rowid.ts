import { sql, type Kysely, type Transaction } from 'kysely';
import { isPostgres } from './util.js';

/**
 * The SLO counter tables, upserted per bucket and read by their composite key only, as SQLite
 * `WITHOUT ROWID` tables: the rows live in the primary key's b-tree. A rowid table stored each key
 * twice, in the table and again in its primary-key index (`sqlite_autoindex_…`), and every upsert
 * wrote both b-trees; `scripts/bench-slo-storage.mjs` measured 48.8 bytes per `slo_counts` row
 * that way (BENCHMARKS.md, "Counter storage per SLO per day"). Same columns, key and rows; the
 * writer's upserts and the window sums seek the same key. Each table is rebuilt (new table, rows
 * copied in key order, old one dropped, new one renamed) in one transaction: a crash leaves either
 * table whole. The copy needs the table's size again in free disk space while it runs.
 * PostgreSQL has no rowid (a heap and its primary-key index): nothing to do. A fillfactor below
 * 100 there made the upserts HOT but did not make the counters smaller (BENCHMARKS.md).
 */
const TABLES: { name: string; columns: [string, 'bigint' | 'integer' | 'double precision'][]; key: string[] }[] = [
  {
    name: 'slo_counts',
    columns: [
      ['series_id', 'bigint'],
      ['res', 'integer'],
      ['bucket', 'bigint'],
      ['good', 'bigint'],
      ['total', 'bigint'],
    ],
    key: ['series_id', 'res', 'bucket'],
  },
  {
    name: 'slo_slices',
    columns: [
      ['series_id', 'bigint'],
      ['bucket', 'bigint'],
      ['good', 'bigint'],
      ['total', 'bigint'],
    ],
    key: ['series_id', 'bucket'],
  },
  {
    name: 'slo_slice_rollups',
    columns: [
      ['series_id', 'bigint'],
      ['res', 'integer'],
      ['bucket', 'bigint'],
      ['good_slices', 'bigint'],
      ['total_slices', 'bigint'],
      ['ratio_sum', 'double precision'],
    ],
    key: ['series_id', 'res', 'bucket'],
  },
];

export async function up(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) return;
  // kysely runs SQLite migrations outside a transaction (no transactional DDL assumed): take one.
  await db.transaction().execute(async (trx) => {
    for (const t of TABLES) await rebuild(trx, t);
  });
}

async function rebuild(trx: Transaction<unknown>, t: (typeof TABLES)[number]): Promise<void> {
  const next = `${t.name}_without_rowid`;
  let table = trx.schema.createTable(next);
  for (const [column, type] of t.columns) table = table.addColumn(column, type, (c) => c.notNull());
  // The constraint keeps its name from 0100 (a constraint name belongs to its table in SQLite).
  await table
    .addPrimaryKeyConstraint(`${t.name}_pk`, t.key as never)
    .modifyEnd(sql`without rowid`)
    .execute();
  const columns = sql.join(t.columns.map(([c]) => sql.ref(c)));
  const key = sql.join(t.key.map((c) => sql.ref(c)));
  // In key order: each row is appended to the new b-tree, whose pages then fill completely.
  await sql`insert into ${sql.table(next)} (${columns}) select ${columns} from ${sql.table(t.name)} order by ${key}`.execute(trx);
  await trx.schema.dropTable(t.name).execute();
  await trx.schema.alterTable(next).renameTo(t.name).execute();
}
