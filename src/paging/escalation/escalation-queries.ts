/** Reads of the escalation tables for other domains (an incident shows where its escalation is). */
import type { Db } from '../../store/schema.js';

export interface EscalationProgress {
  policy: string;
  status: string;
  pass: number;
  step: number;
  /** The next pending step, if any. */
  next: { pass: number; step: number; dueAt: number } | null;
}

export async function escalationProgress(db: Db, incidentId: string): Promise<EscalationProgress | null> {
  const esc = await db.selectFrom('escalations').selectAll().where('incident_id', '=', incidentId).executeTakeFirst();
  if (!esc) return null;
  const next = await db
    .selectFrom('escalation_timers')
    .select(['due_at', 'pass', 'step'])
    .where('incident_id', '=', incidentId)
    .where('fired_at', 'is', null)
    .where('canceled_at', 'is', null)
    .orderBy('due_at')
    .limit(1)
    .executeTakeFirst();
  return {
    policy: esc.policy,
    status: esc.status,
    pass: Number(esc.pass),
    step: Number(esc.step),
    next: next ? { pass: Number(next.pass), step: Number(next.step), dueAt: Number(next.due_at) } : null,
  };
}

/** Escalation steps waiting to fire, across tenants (the pending-timers gauge). */
export async function pendingTimerCount(db: Db): Promise<number> {
  const r = await db
    .selectFrom('escalation_timers')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('fired_at', 'is', null)
    .where('canceled_at', 'is', null)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}
