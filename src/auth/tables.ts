/** Tables of tenants and API keys. */
export interface TenantsTable {
  id: string;
  created_at: number;
  /** Sustained ingest rate (events/s); null takes the configured default. */
  events_per_second: number | null;
  /** Burst size (events); null takes the configured default. */
  burst: number | null;
  /** 1 while ingest is paused for the tenant (runbooks and operators pause noisy tenants). */
  paused: number;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  /** First characters of the key, shown in listings so people can tell keys apart. */
  prefix: string;
  /** sha256 of the whole key; the key itself is never stored. */
  hash: string;
  /** Comma-separated scopes. */
  scopes: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface AuthTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
}
