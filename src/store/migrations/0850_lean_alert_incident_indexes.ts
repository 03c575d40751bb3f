import { sql, type Kysely } from 'kysely';

/**
 * The indexes of alerts and incidents, trimmed to the ones a query uses (every query of the
 * paging, alerting, API, runbook and capacity tests was planned with EXPLAIN QUERY PLAN on SQLite),
 * and two lookups that read a whole history given an index that serves them:
 *
 * - alerts_tenant_seen (tenant_id, last_seen) and incidents_opened (tenant_id, opened_at) are
 *   prefixes of alerts_tenant_seen_id and incidents_opened_number (0780), which serve every query
 *   they served; each still cost a B-tree write per alert or incident.
 * - incidents_open (tenant_id, service, state) served no query since 0600 and 0780: the open
 *   incident of a key goes through incidents_grouping, lists through the 0780 indexes.
 * - "The last alert of this key" (a resolve of what is not open: an Alertmanager repeat) is
 *   ordered by last_seen. Given (tenant_id, dedup_key), SQLite walked the team's whole alert history
 *   in last_seen order instead, to save the sort; (tenant_id, dedup_key, last_seen) serves both.
 * - The incidents opened since a time, of every tenant (the MTTA/MTTR gauges' last 30 days, each
 *   Prometheus scrape; compliance evidence for a period) scanned every incident ever opened: no
 *   index began with opened_at. incidents_opened_at reads just the window.
 * - incidents_unpaged (unpaged_at, state) held every incident and SQLite never chose it for
 *   `unpaged_at is not null` (it scanned the table); partial on the unpaged ones, it holds only
 *   those, costs nothing for an incident that paged, and is the one SQLite uses.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('alerts_tenant_seen').ifExists().execute();
  await db.schema.dropIndex('incidents_opened').ifExists().execute();
  await db.schema.dropIndex('incidents_open').ifExists().execute();
  await db.schema.dropIndex('alerts_tenant_dedup').ifExists().execute();
  await db.schema.createIndex('alerts_dedup_seen').on('alerts').columns(['tenant_id', 'dedup_key', 'last_seen']).execute();
  await db.schema.createIndex('incidents_opened_at').on('incidents').column('opened_at').execute();
  await db.schema.dropIndex('incidents_unpaged').ifExists().execute();
  await db.schema.createIndex('incidents_unpaged_state').on('incidents').column('state').where(sql.ref('unpaged_at'), 'is not', null).execute();
}
