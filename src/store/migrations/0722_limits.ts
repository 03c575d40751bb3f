import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('capacity_limits')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('capacity_limits_pk', ['tenant_id', 'name'])
    .execute();
  await db.schema
    .createTable('limit_minutes')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('minute', 'bigint', (c) => c.notNull())
    .addColumn('partition', 'integer', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addColumn('sum', 'double precision', (c) => c.notNull())
    .addColumn('max', 'double precision', (c) => c.notNull())
    .addColumn('cap_n', 'bigint', (c) => c.notNull())
    .addColumn('cap_sum', 'double precision', (c) => c.notNull())
    .addColumn('cap_max', 'double precision')
    .addPrimaryKeyConstraint('limit_minutes_pk', ['tenant_id', 'name', 'minute', 'partition'])
    .execute();
  await db.schema.createIndex('limit_minutes_minute').on('limit_minutes').column('minute').execute();
}
