/** Reads of the alerts table for other domains (incidents show the alerts grouped into them). */
import type { Db } from '../store/schema.js';

export interface AlertSummary {
  id: string;
  summary: string;
  severity: string;
  source: string;
  status: string;
  count: number;
  dedupKey: string;
  firstSeen: number;
  lastSeen: number;
}

/** The alerts with these ids, oldest first. */
export async function alertsByIds(db: Db, ids: string[]): Promise<AlertSummary[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('alerts')
    .select(['id', 'summary', 'severity', 'source', 'status', 'count', 'first_seen', 'last_seen', 'dedup_key'])
    .where('id', 'in', ids)
    .orderBy('first_seen')
    .execute();
  return rows.map((a) => ({
    id: a.id,
    summary: a.summary,
    severity: a.severity,
    source: a.source,
    status: a.status,
    count: Number(a.count),
    dedupKey: a.dedup_key,
    firstSeen: Number(a.first_seen),
    lastSeen: Number(a.last_seen),
  }));
}

/** The number of the last transition appended to the outbox (0 when none): how far its consumers have to read. */
export async function lastTransitionSeq(db: Db): Promise<number> {
  const last = await db
    .selectFrom('alert_transitions')
    .select((eb) => eb.fn.max('seq').as('s'))
    .executeTakeFirst();
  return Number(last?.s ?? 0);
}
