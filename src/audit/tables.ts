/** The audit log table: one row per state change, each holding the hash of the previous row. */
export interface AuditLogTable {
  seq: number;
  at: number;
  /** `key:<prefix>`, `user:<id>` or `system`. */
  actor: string;
  action: string;
  tenant_id: string;
  target: string;
  /** JSON, secrets redacted. */
  before_json: string | null;
  after_json: string | null;
  source_ip: string;
  request_id: string;
  /** 1 when the change succeeded, 0 when it was refused (failed sign-ins, denied requests). */
  ok: number;
  prev_hash: string;
  hash: string;
}

/**
 * A state-changing request under way: written before its handler runs, replaced by its chained
 * entry in the same transaction that appends it. A row left behind means the process stopped in
 * between; it becomes an entry whose outcome is unknown (AuditLog.settleInterrupted).
 */
export interface AuditPendingTable {
  id: string;
  at: number;
  actor: string;
  action: string;
  tenant_id: string;
  target: string;
  source_ip: string;
  request_id: string;
}

export interface AuditTables {
  audit_log: AuditLogTable;
  audit_pending: AuditPendingTable;
}
