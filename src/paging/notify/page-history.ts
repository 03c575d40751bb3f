/** Reads of the notification jobs for other domains: who was paged when (on-call load). */
import type { Db } from '../../store/schema.js';

export interface PageRecord {
  userId: string;
  incidentId: string;
  /** When the first page of this escalation step went out to this person. */
  at: number;
}

/**
 * Pages created in [from, to), one per person, incident and escalation step (a step that pages
 * several contact methods counts once).
 */
export async function pagesBetween(db: Db, tenant: string, from: number, to: number): Promise<PageRecord[]> {
  const rows = await db
    .selectFrom('notification_jobs')
    .select(['user_id', 'incident_id', 'pass', 'step'])
    .select((eb) => eb.fn.min('created_at').as('at'))
    .where('tenant_id', '=', tenant)
    .where('user_id', 'is not', null)
    .where('incident_id', 'is not', null)
    .where('kind', '=', 'page')
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .groupBy(['user_id', 'incident_id', 'pass', 'step'])
    .execute();
  return rows.map((r) => ({ userId: r.user_id!, incidentId: r.incident_id!, at: Number(r.at) }));
}

/** Notifications waiting to be delivered, across tenants (the pending-jobs gauge). */
export async function pendingJobCount(db: Db): Promise<number> {
  const r = await db
    .selectFrom('notification_jobs')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}
