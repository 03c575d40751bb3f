import type { Kysely } from 'kysely';

/** Batch ids a consumer has counted recently: a log that stored one batch twice is still counted once. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('counted_batches')
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('position', 'bigint', (c) => c.notNull())
    .addColumn('counted_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('counted_batches_pk', ['consumer', 'id'])
    .execute();
  await db.schema.createIndex('counted_batches_at').on('counted_batches').columns(['consumer', 'counted_at']).execute();
}
