/** How incidents, timeline entries and action items look in the API (snake_case, ISO times). */
import { iso } from '../../core/time-input.js';
import type { ActionItem } from './action-items.js';
import type { Incident } from './incident-service.js';
import type { TimelineEntry } from './timeline.js';

export function incidentView(i: Incident) {
  return {
    id: i.id,
    number: i.number,
    title: i.title,
    summary: i.summary,
    service: i.service,
    severity: i.severity,
    state: i.state,
    escalation_policy: i.escalationPolicy,
    grouping_key: i.groupingKey,
    opened_at: iso(i.openedAt),
    acknowledged_at: iso(i.acknowledgedAt),
    mitigated_at: iso(i.mitigatedAt),
    resolved_at: iso(i.resolvedAt),
    closed_at: iso(i.closedAt),
    created_by: i.createdBy,
    /** Non-null when the incident paged nobody: said loudly, so nobody mistakes silence for calm. */
    paged_nobody: i.unpaged ? { reason: i.unpaged.reason, since: iso(i.unpaged.at) } : null,
  };
}

export function timelineView(e: TimelineEntry) {
  return { seq: e.seq, at: iso(e.at), actor: e.actor, type: e.type, message: e.message, data: e.data };
}

export function actionItemView(a: ActionItem, owner?: { email: string; name: string; handle: string | null }) {
  return {
    id: a.id,
    incident_id: a.incidentId,
    title: a.title,
    status: a.status,
    owner: a.ownerUserId ? { user_id: a.ownerUserId, ...(owner ? { email: owner.email, name: owner.name, handle: owner.handle } : {}) } : null,
    created_at: iso(a.createdAt),
    updated_at: iso(a.updatedAt),
    created_by: a.createdBy,
  };
}
