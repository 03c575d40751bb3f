import type { Kysely } from 'kysely';

/**
 * Indexes for a long paging history (a year: 100,000 alerts and 10,000 incidents per team), so the
 * lists page in flat time by keyset (the sort key with its tie-breaker, no temporary sort) and
 * filters by state, status or service seek instead of walking the team's whole history; and the
 * pages-per-person metric reads a team's pages in the range instead of every notification job.
 * Measured with `keel bench history` (BENCHMARKS.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('incidents_opened_number').on('incidents').columns(['tenant_id', 'opened_at', 'number']).execute();
  await db.schema.createIndex('incidents_state_opened').on('incidents').columns(['tenant_id', 'state', 'opened_at', 'number']).execute();
  await db.schema.createIndex('incidents_service_opened').on('incidents').columns(['tenant_id', 'service', 'opened_at', 'number']).execute();
  await db.schema.createIndex('alerts_tenant_seen_id').on('alerts').columns(['tenant_id', 'last_seen', 'id']).execute();
  await db.schema.createIndex('alerts_status_seen_id').on('alerts').columns(['tenant_id', 'status', 'last_seen', 'id']).execute();
  await db.schema.createIndex('notification_jobs_tenant_created').on('notification_jobs').columns(['tenant_id', 'created_at']).execute();
  // Superseded by the wider indexes above (same leading columns).
  await db.schema.dropIndex('incidents_opened').execute();
  await db.schema.dropIndex('alerts_tenant_seen').execute();
}
