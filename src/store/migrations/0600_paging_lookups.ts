import type { Kysely } from 'kysely';

/**
 * Indexes for the two lookups every alert makes. Without them both scanned a tenant's whole
 * history, so a storm of N alerts cost O(N²) row reads:
 * - the open alert of a dedup key (`alerts_open_dedup` is partial, `WHERE status = 'firing'`, and
 *   SQLite cannot use a partial index for `status = ?` with the value bound as a parameter, so
 *   it scanned `alerts_tenant_seen`, every alert of the tenant); also serves "the last alert of
 *   this key" for resolves of what is not open;
 * - the open incident of a service and grouping key (`incidents_open` stops at the state, and
 *   SQLite preferred `incidents_opened` for its order, every incident of the tenant); with
 *   `opened_at` last, the newest open incident of the key is found without sorting.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('alerts_tenant_dedup').on('alerts').columns(['tenant_id', 'dedup_key']).execute();
  await db.schema.createIndex('incidents_grouping').on('incidents').columns(['tenant_id', 'service', 'grouping_key', 'opened_at']).execute();
}
