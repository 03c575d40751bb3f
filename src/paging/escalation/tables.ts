/**
 * Escalation state per incident, and its timers: one row per (incident, pass, step) with a due
 * time. The scheduler marks a timer fired in the same transaction as the step's effects (the
 * notification jobs), so a crash or restart can never fire a step twice or lose one.
 */
export interface EscalationsTable {
  incident_id: string;
  tenant_id: string;
  policy: string;
  /** active, stopped (acknowledged or resolved), exhausted (every step of every pass fired). */
  status: string;
  /** Pass and step fired last (-1 before the first). */
  pass: number;
  step: number;
  started_at: number;
  updated_at: number;
}

export interface EscalationTimersTable {
  id: string;
  tenant_id: string;
  incident_id: string;
  pass: number;
  step: number;
  due_at: number;
  fired_at: number | null;
  canceled_at: number | null;
}

/** A pending acknowledgement timeout (the policy's `acknowledgementTimeout`), one per incident. */
export interface AckTimeoutsTable {
  incident_id: string;
  tenant_id: string;
  /** The acknowledgement it times: a later one replaces the row. */
  acknowledged_at: number;
  due_at: number;
  fired_at: number | null;
  canceled_at: number | null;
}

export interface EscalationTables {
  escalations: EscalationsTable;
  escalation_timers: EscalationTimersTable;
  ack_timeouts: AckTimeoutsTable;
}
