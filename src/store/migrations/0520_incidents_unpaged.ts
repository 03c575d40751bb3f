import type { Kysely } from 'kysely';

/**
 * Incidents that paged nobody say so: why (`unpaged_reason`) and since when. Open, unpaged
 * incidents are found again when an escalation policy is applied to their service.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('incidents').addColumn('unpaged_reason', 'text').execute();
  await db.schema.alterTable('incidents').addColumn('unpaged_at', 'bigint').execute();
  await db.schema.createIndex('incidents_unpaged').on('incidents').columns(['unpaged_at', 'state']).execute();
}
