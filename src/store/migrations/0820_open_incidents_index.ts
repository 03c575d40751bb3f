import { sql, type Kysely } from 'kysely';

/**
 * The open incidents of a team, newest first (`GET /v1/incidents`, the list every responder opens):
 * an index of the open ones only, in the list's order, so a page of them is read in order at any
 * number of open incidents. Without it both stores found the open ones by (tenant, state) and
 * sorted them all for every page (PostgreSQL `Sort`, SQLite `USE TEMP B-TREE FOR ORDER BY`): flat
 * in the history kept, not in the open incidents of a storm. The list names the open states as
 * this literal list (`IncidentService.listQuery`): SQLite uses a partial index only for a query
 * term that matches its WHERE, not for bound parameters. Measured with `keel bench history`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('incidents_open_opened')
    .on('incidents')
    .columns(['tenant_id', 'opened_at', 'number'])
    .where(sql<boolean>`state in ('triggered', 'acknowledged', 'mitigated')`)
    .execute();
}
