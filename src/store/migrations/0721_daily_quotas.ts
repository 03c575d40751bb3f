import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('daily_quotas')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey())
    .addColumn('events_per_day', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('daily_quota_usage')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('day', 'bigint', (c) => c.notNull())
    .addColumn('used', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('daily_quota_usage_pk', ['tenant_id', 'day'])
    .execute();
}
