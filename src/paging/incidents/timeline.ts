/**
 * The incident timeline: an append-only list of what happened, when, and who did it: alerts,
 * state changes, escalation steps, notifications (with attempts, status and latency), roles,
 * notes, runbook runs, postmortem and action items.
 */
import { prepared } from '../../store/prepared.js';
import type { Db } from '../../store/schema.js';

export type TimelineType = 'alert' | 'state' | 'escalation' | 'notification' | 'role' | 'note' | 'severity' | 'updated' | 'runbook' | 'postmortem' | 'action_item';

export interface TimelineInput {
  at: number;
  actor: string;
  type: TimelineType;
  message: string;
  data?: Record<string, unknown>;
}

export interface TimelineEntry extends TimelineInput {
  seq: number;
  data: Record<string, unknown>;
}

// Five entries per paged alert in a storm: compiled once (store/prepared.ts).
const insertEntry = prepared((db, p: { tenant: string; incident: string; at: number; actor: string; type: TimelineType; message: string; data: string }) =>
  db.insertInto('incident_timeline').values({ tenant_id: p.tenant, incident_id: p.incident, at: p.at, actor: p.actor, type: p.type, message: p.message, data_json: p.data }),
);

export async function appendTimeline(db: Db, incident: { id: string; tenant: string }, e: TimelineInput): Promise<void> {
  await insertEntry.run(db, { tenant: incident.tenant, incident: incident.id, at: e.at, actor: e.actor, type: e.type, message: e.message, data: JSON.stringify(e.data ?? {}) });
}

export async function readTimeline(db: Db, incidentId: string, filter: { types?: TimelineType[] } = {}): Promise<TimelineEntry[]> {
  // By time, then by the order written: entries carry the time things happened (an alert's own
  // time, a delivery's), which is not always the order they were recorded in.
  let q = db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', incidentId).orderBy('at').orderBy('seq');
  if (filter.types?.length) q = q.where('type', 'in', filter.types);
  const rows = await q.execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    at: Number(r.at),
    actor: r.actor,
    type: r.type as TimelineType,
    message: r.message,
    data: JSON.parse(r.data_json) as Record<string, unknown>,
  }));
}
