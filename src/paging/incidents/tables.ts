import type { Generated } from 'kysely';

/**
 * Incidents and everything recorded about them: the alerts they group, the people in roles,
 * the timeline (every alert, page, acknowledgement, state and role change, note), the
 * postmortem and its action items. Times are epoch ms.
 */
export interface IncidentsTable {
  id: string;
  tenant_id: string;
  /** Per-tenant number people say out loud ("incident 42"). */
  number: number;
  title: string;
  summary: string;
  service: string | null;
  /** SEV1 (worst) to SEV4. */
  severity: string;
  /** triggered, acknowledged, mitigated, resolved, closed. */
  state: string;
  /** Alerts of a service with the same grouping key join the same open incident. */
  grouping_key: string | null;
  /** Escalation policy paging for it (null: nobody is paged). */
  escalation_policy: string | null;
  opened_at: number;
  acknowledged_at: number | null;
  mitigated_at: number | null;
  resolved_at: number | null;
  closed_at: number | null;
  created_by: string;
  /** Why this incident paged nobody (null: someone was paged, or paging is under way). */
  unpaged_reason?: string | null | undefined;
  unpaged_at?: number | null | undefined;
}

/** Last incident number per tenant: one atomic upsert hands out the next, with no clashes. */
export interface IncidentCountersTable {
  tenant_id: string;
  last: number;
}

export interface IncidentAlertsTable {
  incident_id: string;
  alert_id: string;
  tenant_id: string;
  attached_at: number;
}

export interface IncidentRolesTable {
  incident_id: string;
  /** commander, communications, scribe. */
  role: string;
  user_id: string;
  assigned_at: number;
  assigned_by: string;
}

export interface IncidentTimelineTable {
  seq: Generated<number>;
  tenant_id: string;
  incident_id: string;
  at: number;
  /** `key:<prefix>`, `user:<id>`, `integration:<source>`, `system`. */
  actor: string;
  /** alert, state, escalation, notification, role, note, severity, runbook, postmortem, action_item. */
  type: string;
  message: string;
  data_json: string;
}

export interface IncidentActionItemsTable {
  id: string;
  tenant_id: string;
  incident_id: string;
  title: string;
  owner_user_id: string | null;
  /** open, in_progress, done, wont_do. */
  status: string;
  created_at: number;
  updated_at: number;
  created_by: string;
}

export interface IncidentPostmortemsTable {
  incident_id: string;
  tenant_id: string;
  markdown: string;
  created_at: number;
  updated_at: number;
  author: string;
  /** When and by whom it was last stored as edited (null: as generated). */
  edited_at?: number | null;
  edited_by?: string | null;
}

export interface IncidentTables {
  incidents: IncidentsTable;
  incident_counters: IncidentCountersTable;
  incident_alerts: IncidentAlertsTable;
  incident_roles: IncidentRolesTable;
  incident_timeline: IncidentTimelineTable;
  incident_action_items: IncidentActionItemsTable;
  incident_postmortems: IncidentPostmortemsTable;
}
