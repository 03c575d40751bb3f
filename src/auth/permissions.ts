/**
 * Permissions: what a request may do. Every route declares exactly one; API key scopes (and, for
 * people, roles) map onto sets of them, so there is one check per endpoint and one table to audit.
 */
export const PERMISSIONS = [
  'events:write',
  'events:read',
  'keys:manage',
  'tenants:read',
  'tenants:manage',
  'system:read',
  'definitions:read',
  'definitions:write',
  'usage:read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const SCOPE_PERMISSIONS: Record<Scope, readonly Permission[]> = {
  ingest: ['events:write'],
  read: ['events:read', 'tenants:read', 'system:read', 'definitions:read', 'usage:read'],
  admin: PERMISSIONS,
};

export function permissionsOfScopes(scopes: readonly Scope[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const s of scopes) for (const p of SCOPE_PERMISSIONS[s]) out.add(p);
  return out;
}

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/** The scope a key needs for a permission, for error messages. */
export function scopeFor(p: Permission): Scope {
  for (const s of SCOPES) if (SCOPE_PERMISSIONS[s].includes(p)) return s;
  return 'admin';
}
