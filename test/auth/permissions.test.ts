import { describe, expect, it } from 'vitest';
import { PERMISSIONS, PERMISSION_GRANTS, ROLE_ORDER, SCOPE_ROLE, permissionsOfRole, permissionsOfScopes } from '../../src/auth/permissions.js';

describe('roles and scopes share one permission table', () => {
  it('every permission has a row, and roles are cumulative', () => {
    for (const p of PERMISSIONS) expect(PERMISSION_GRANTS[p], p).toBeDefined();
    for (let i = 1; i < ROLE_ORDER.length; i++) {
      const lower = permissionsOfRole(ROLE_ORDER[i - 1]!);
      const higher = permissionsOfRole(ROLE_ORDER[i]!);
      for (const p of lower) expect(higher.has(p), `${ROLE_ORDER[i]} lacks ${p}`).toBe(true);
    }
  });

  it('read, respond, write and admin scopes hold exactly the viewer, responder, editor and admin roles', () => {
    for (const [scope, role] of Object.entries(SCOPE_ROLE)) {
      for (const superuser of [false, true]) {
        expect([...permissionsOfScopes([scope as keyof typeof SCOPE_ROLE], superuser)].sort()).toEqual([...permissionsOfRole(role, superuser)].sort());
      }
    }
    expect([...permissionsOfScopes(['ingest'])].sort()).toEqual(['events:write', 'session:use']);
  });

  it('gives system-wide permissions only to admins of the system tenant', () => {
    expect(permissionsOfRole('admin').has('system:manage')).toBe(false);
    expect(permissionsOfRole('admin').has('tenants:manage')).toBe(false);
    expect(permissionsOfRole('admin', true).has('system:manage')).toBe(true);
    expect(permissionsOfRole('viewer').has('definitions:write')).toBe(false);
    expect(permissionsOfRole('editor').has('definitions:write')).toBe(true);
    expect(permissionsOfRole('editor').has('users:manage')).toBe(false);
  });
});
