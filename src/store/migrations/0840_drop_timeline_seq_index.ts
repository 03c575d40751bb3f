import type { Kysely } from 'kysely';

/**
 * Drops incident_timeline_incident (incident_id, seq). The timeline is read by time since 0521,
 * through incident_timeline_incident_at (incident_id, at, seq), which serves every lookup by
 * incident as well; nothing orders one incident's entries by seq alone. The index still cost a
 * B-tree insert per entry, five per paged alert, and a WAL page per transaction that wrote
 * entries: 0.78 of the 11.7 WAL pages of a paged alert (`keel bench paging`, the WAL read back
 * frame by frame and its pages named with SQLite's dbstat).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('incident_timeline_incident').ifExists().execute();
}
