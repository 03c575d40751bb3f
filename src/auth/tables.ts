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

/** Credentials and sign-in record of a user (`users.id`); no row: the user never had a password. */
export interface UserAuthTable {
  user_id: string;
  /** `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64), or null for SSO-only users. */
  password_hash: string | null;
  password_changed_at: number | null;
  /**
   * The one team the password opens when a team admin set it (that team's admins may know it);
   * null: every team of the person (set by a system admin).
   */
  password_team: string | null;
  last_sign_in_at: number | null;
  /** `password` or `oidc:<provider>`. */
  last_sign_in_method: string | null;
  last_sign_in_ip: string | null;
}

/** Browser sessions; the token is in an HTTP-only cookie, only its hash is stored. */
export interface SessionsTable {
  /** sha256 of the session token. */
  id: string;
  user_id: string;
  /** The team the session acts on unless a request names another (`X-Keel-Team`). */
  tenant_id: string;
  method: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
  ip: string;
  user_agent: string;
  revoked_at: number | null;
  /** Signed in with a team-bound password: the session acts on this team only. */
  bound_team: string | null;
}

/** Failed sign-in counters per account (`user:<email>`) and per address (`ip:<addr>`). */
export interface SignInThrottleTable {
  key: string;
  failures: number;
  window_start: number;
  locked_until: number;
}

/** Links an identity at an OpenID Connect provider to a user. */
export interface UserIdentitiesTable {
  provider: string;
  subject: string;
  user_id: string;
  email: string;
  created_at: number;
}

/** OpenID Connect providers people sign in with; the client secret is sealed (AES-256-GCM). */
export interface SsoProvidersTable {
  id: string;
  display_name: string;
  issuer: string;
  client_id: string;
  client_secret: string | null;
  /** Space-separated OAuth scopes. */
  scopes: string;
  default_team: string;
  default_role: string;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

export interface AuthTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  user_auth: UserAuthTable;
  sessions: SessionsTable;
  sign_in_throttle: SignInThrottleTable;
  user_identities: UserIdentitiesTable;
  sso_providers: SsoProvidersTable;
}
