/**
 * The permission matrix, written out by hand: who may do what. Tests compare the permission
 * table (src/auth/permissions.ts) and the running server (the route walk) against THIS, never
 * against the table itself, so a permission moved to the wrong role fails a test. Changing who
 * holds a permission means changing this file too, on purpose.
 *
 * Columns: the `ingest` key scope, then each team role with the key scope that holds the same
 * (viewer/read, responder/respond, editor/write, admin/admin), then an admin of the system tenant
 * (a person or an `admin` key there).
 */
import type { Permission, Scope } from '../../src/auth/permissions.js';
import type { Role } from '../../src/people/people-service.js';

type Mark = 0 | 1;
//                                     ingest viewer responder editor admin system-admin
const ROWS: [Permission, Mark, Mark, Mark, Mark, Mark, Mark][] = [
  ['session:use', 1, 1, 1, 1, 1, 1],
  ['events:write', 1, 0, 0, 1, 1, 1],
  ['events:read', 0, 1, 1, 1, 1, 1],
  ['tenants:read', 0, 1, 1, 1, 1, 1],
  ['system:read', 0, 1, 1, 1, 1, 1],
  ['definitions:read', 0, 1, 1, 1, 1, 1],
  ['users:read', 0, 1, 1, 1, 1, 1],
  ['slo:read', 0, 1, 1, 1, 1, 1],
  ['incidents:read', 0, 1, 1, 1, 1, 1],
  ['oncall:read', 0, 1, 1, 1, 1, 1],
  ['paging:read', 0, 1, 1, 1, 1, 1],
  ['usage:read', 0, 1, 1, 1, 1, 1],
  ['capacity:read', 0, 1, 1, 1, 1, 1],
  ['runbooks:read', 0, 1, 1, 1, 1, 1],
  ['incidents:respond', 0, 0, 1, 1, 1, 1],
  ['runbooks:run', 0, 0, 1, 1, 1, 1],
  ['runbooks:approve', 0, 0, 1, 1, 1, 1],
  ['definitions:write', 0, 0, 0, 1, 1, 1],
  ['slo:write', 0, 0, 0, 1, 1, 1],
  ['paging:write', 0, 0, 0, 1, 1, 1],
  ['runbooks:manage', 0, 0, 0, 1, 1, 1],
  ['keys:manage', 0, 0, 0, 0, 1, 1],
  ['users:manage', 0, 0, 0, 0, 1, 1],
  ['audit:read', 0, 0, 0, 0, 1, 1],
  ['compliance:read', 0, 0, 0, 0, 1, 1],
  ['integrations:manage', 0, 0, 0, 0, 1, 1],
  ['tenants:manage', 0, 0, 0, 0, 0, 1],
  ['system:manage', 0, 0, 0, 0, 0, 1],
];

export const MATRIX_PERMISSIONS: readonly Permission[] = ROWS.map((r) => r[0]);

const COLUMN = { ingest: 1, viewer: 2, responder: 3, editor: 4, admin: 5, system: 6 } as const;

function column(c: keyof typeof COLUMN): Set<Permission> {
  return new Set(ROWS.filter((r) => r[COLUMN[c]] === 1).map((r) => r[0]));
}

/** What a person of `role` holds (`superuser`: an admin of the system tenant). */
export function expectedOfRole(role: Role, superuser = false): Set<Permission> {
  return superuser && role === 'admin' ? column('system') : column(role);
}

const SCOPE_COLUMN: Record<Scope, keyof typeof COLUMN> = { ingest: 'ingest', read: 'viewer', respond: 'responder', write: 'editor', admin: 'admin' };

/** What a key with these scopes holds (`superuser`: a key of the system tenant). */
export function expectedOfScopes(scopes: readonly Scope[], superuser = false): Set<Permission> {
  const out = new Set<Permission>();
  for (const s of scopes) for (const p of s === 'admin' && superuser ? column('system') : column(SCOPE_COLUMN[s])) out.add(p);
  return out;
}
