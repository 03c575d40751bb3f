import type { Kysely } from 'kysely';

/** The timeline is read by time (then by seq): index it that way. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('incident_timeline_incident_at').on('incident_timeline').columns(['incident_id', 'at', 'seq']).execute();
}
