import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('capacity_bench_results')
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .addColumn('events_per_s', 'double precision', (c) => c.notNull())
    .addColumn('ceiling_events_per_s', 'double precision', (c) => c.notNull())
    .addColumn('cores', 'integer', (c) => c.notNull())
    .addColumn('load_average', 'double precision', (c) => c.notNull())
    .addColumn('partitions', 'integer')
    .addColumn('worker_cpu_ms_per_1000', 'double precision')
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('capacity_bench_results_pk', ['mode', 'recorded_at'])
    .execute();
}
