import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('capacity_samples')
    .addColumn('limit_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('res', 'integer', (c) => c.notNull())
    .addColumn('usage', 'double precision', (c) => c.notNull())
    .addColumn('capacity', 'double precision')
    .addPrimaryKeyConstraint('capacity_samples_pk', ['limit_id', 'res', 'at'])
    .execute();
  await db.schema.createIndex('capacity_samples_at').on('capacity_samples').columns(['res', 'at']).execute();
}
