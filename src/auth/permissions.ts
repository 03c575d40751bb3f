/**
 * Permissions: what a request may do. Every route declares exactly one; API key scopes and team
 * roles map onto sets of them through the one table below, so there is one check per endpoint and
 * one table to audit.
 */
import type { Role } from '../people/people-service.js';

export const PERMISSIONS = [
  'events:write',
  'events:read',
  'keys:manage',
  'tenants:read',
  'tenants:manage',
  'system:read',
  'definitions:read',
  'definitions:write',
  'session:use',
  'users:read',
  'users:manage',
  'audit:read',
  'compliance:read',
  'system:manage',
  'slo:read',
  'slo:write',
  // Paging and incidents: reading incidents, on-call and paging configuration; responding
  // (declare, acknowledge, resolve, notes, roles, postmortems); changing paging configuration
  // (schedules, policies, routes, silences, overrides); integration keys and paging secrets.
  'incidents:read',
  'oncall:read',
  'paging:read',
  'incidents:respond',
  'paging:write',
  'integrations:manage',
  'usage:read',
  'capacity:read',
  // Runbooks: reading runs and the toil ledger; starting and aborting runs; approving steps and
  // deciding on steps whose outcome is unknown; changing runbooks.
  'runbooks:read',
  'runbooks:run',
  'runbooks:approve',
  'runbooks:manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** Roles are cumulative: each holds everything the ones before it hold. */
export const ROLE_ORDER: readonly Role[] = ['viewer', 'responder', 'editor', 'admin'];

/**
 * THE table. For each permission: the least team role that holds it, and whether only admins of
 * the system tenant (superusers) hold it. A `Record` over every permission, so a permission added
 * without a row here does not compile.
 *   viewer: reads. responder: + acknowledge, resolve, notes, run approved runbooks.
 *   editor: + change definitions. admin: + users, keys, integrations.
 */
export const PERMISSION_GRANTS: Record<Permission, { role: Role; systemOnly?: true }> = {
  'events:read': { role: 'viewer' },
  'tenants:read': { role: 'viewer' },
  'system:read': { role: 'viewer' },
  'definitions:read': { role: 'viewer' },
  'users:read': { role: 'viewer' },
  'session:use': { role: 'viewer' },
  'definitions:write': { role: 'editor' },
  'events:write': { role: 'editor' },
  'keys:manage': { role: 'admin' },
  'users:manage': { role: 'admin' },
  'audit:read': { role: 'admin' },
  'compliance:read': { role: 'admin' },
  'tenants:manage': { role: 'admin', systemOnly: true },
  'system:manage': { role: 'admin', systemOnly: true },
  'slo:read': { role: 'viewer' },
  'slo:write': { role: 'editor' },
  'incidents:read': { role: 'viewer' },
  'oncall:read': { role: 'viewer' },
  'paging:read': { role: 'viewer' },
  'incidents:respond': { role: 'responder' },
  'paging:write': { role: 'editor' },
  'integrations:manage': { role: 'admin' },
  'usage:read': { role: 'viewer' },
  'capacity:read': { role: 'viewer' },
  'runbooks:read': { role: 'viewer' },
  'runbooks:run': { role: 'responder' },
  'runbooks:approve': { role: 'responder' },
  'runbooks:manage': { role: 'editor' },
};

/**
 * API key scopes map onto the same table: `read`, `respond`, `write` and `admin` hold what the
 * viewer, responder, editor and admin roles hold; `ingest` only sends events.
 */
export const SCOPES = ['ingest', 'read', 'respond', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const SCOPE_ROLE: Record<Exclude<Scope, 'ingest'>, Role> = {
  read: 'viewer',
  respond: 'responder',
  write: 'editor',
  admin: 'admin',
};

const INGEST_PERMISSIONS: readonly Permission[] = ['events:write', 'session:use'];

function rank(role: Role): number {
  return ROLE_ORDER.indexOf(role);
}

/** What a team role holds; system-only permissions only for superusers. */
export function permissionsOfRole(role: Role, superuser = false): Set<Permission> {
  const out = new Set<Permission>();
  for (const p of PERMISSIONS) {
    const g = PERMISSION_GRANTS[p];
    if (rank(g.role) <= rank(role) && (superuser || !g.systemOnly)) out.add(p);
  }
  return out;
}

export function permissionsOfScopes(scopes: readonly Scope[], superuser = false): Set<Permission> {
  const out = new Set<Permission>();
  for (const s of scopes) {
    const granted = s === 'ingest' ? INGEST_PERMISSIONS : [...permissionsOfRole(SCOPE_ROLE[s], superuser)];
    for (const p of granted) out.add(p);
  }
  return out;
}

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

export function isPermission(s: string): s is Permission {
  return (PERMISSIONS as readonly string[]).includes(s);
}

/** The least scope a key needs for a permission, for error messages. */
export function scopeFor(p: Permission): Scope {
  if (INGEST_PERMISSIONS.includes(p) && p !== 'session:use') return 'ingest';
  for (const s of ['read', 'respond', 'write', 'admin'] as const) if (rank(SCOPE_ROLE[s]) >= rank(PERMISSION_GRANTS[p].role)) return s;
  return 'admin';
}

/** The least role that holds a permission, for error messages. */
export function roleFor(p: Permission): Role {
  return PERMISSION_GRANTS[p].role;
}
