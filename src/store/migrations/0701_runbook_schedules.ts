import type { Kysely } from 'kysely';

/** The last fired time of each scheduled runbook (src/runbooks/tables.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('runbook_schedules')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('runbook', 'text', (c) => c.notNull())
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('last_fire_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('runbook_schedules_pk', ['tenant_id', 'runbook'])
    .execute();
}
