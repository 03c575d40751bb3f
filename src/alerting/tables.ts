import type { Generated } from 'kysely';

/**
 * Alerts from every source (Keel's SLO burn-rate rules, Alertmanager, PagerDuty Events v2,
 * heartbeats) in one table, and their transitions as an ordered outbox that paging consumes.
 */
export interface AlertsTable {
  id: string;
  tenant_id: string;
  /** Same key, same alert: repeats raise `count` and `last_seen`. Unique among open alerts. */
  dedup_key: string;
  source: string;
  /** Service the alert belongs to, when the source says (routing may also decide it from labels). */
  service: string | null;
  status: string;
  severity: string;
  summary: string;
  labels_json: string;
  details_json: string;
  links_json: string;
  first_seen: number;
  last_seen: number;
  count: number;
  resolved_at: number | null;
  /** Set by an Events v2 `acknowledge` (the source says someone is on it). */
  acknowledged_at: number | null;
}

export interface AlertTransitionsTable {
  seq: Generated<number>;
  tenant_id: string;
  alert_id: string;
  dedup_key: string;
  /** `firing` or `resolved`. */
  status: string;
  at: number;
  /** The values that caused the transition (burn rates, the payload's details...). */
  values_json: string;
}

export interface AlertingTables {
  alerts: AlertsTable;
  alert_transitions: AlertTransitionsTable;
}
