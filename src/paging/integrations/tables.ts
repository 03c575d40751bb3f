/** Integration keys (Alertmanager, Events v2, heartbeats) and heartbeat state. */
export interface IntegrationKeysTable {
  id: string;
  tenant_id: string;
  /** The service whose alerts the key sends; null: alerts are routed by the tenant's Routes. */
  service: string | null;
  /** alertmanager, events-v2, heartbeat: a key works for its own type only. */
  type: string;
  name: string;
  /** sha256 of the key, for lookup. */
  key_hash: string;
  /** The key sealed with the SecretBox; never returned after creation. */
  sealed: string;
  prefix: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface HeartbeatsTable {
  tenant_id: string;
  name: string;
  service: string;
  interval_ms: number;
  grace_ms: number;
  severity: string;
  last_ping_at: number | null;
  /** A ping must arrive before this, or the heartbeat is down and alerts. */
  due_at: number;
  /** up or down. */
  status: string;
  updated_at: number;
}

export interface IntegrationTables {
  integration_keys: IntegrationKeysTable;
  heartbeats: HeartbeatsTable;
}
