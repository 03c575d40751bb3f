import { describe, expect, it } from 'vitest';
import { PERMISSIONS, PERMISSION_GRANTS, SCOPES, isPermission, isScope, permissionsOfRole, permissionsOfScopes, roleFor, scopeFor, type Permission, type Scope } from '../../src/auth/permissions.js';
import type { Role } from '../../src/people/people-service.js';
import { MATRIX_PERMISSIONS, expectedOfRole, expectedOfScopes } from '../helpers/permission-matrix.js';

const sorted = (s: Set<Permission>) => [...s].sort();
const ROLES: Role[] = ['viewer', 'responder', 'editor', 'admin'];

describe('the permission table against the hand-written matrix (test/helpers/permission-matrix.ts)', () => {
  it('knows exactly the permissions the matrix lists, each with a row naming a role', () => {
    expect([...PERMISSIONS].sort()).toEqual([...MATRIX_PERMISSIONS].sort());
    for (const p of PERMISSIONS) expect(ROLES, p).toContain(PERMISSION_GRANTS[p].role);
  });

  it('gives each role, in a team and in the system tenant, exactly its column', () => {
    for (const role of ROLES) {
      expect(sorted(permissionsOfRole(role)), role).toEqual(sorted(expectedOfRole(role)));
      expect(sorted(permissionsOfRole(role, true)), `${role} of the system tenant`).toEqual(sorted(expectedOfRole(role, true)));
    }
  });

  it('gives each key scope, alone and combined, exactly its column', () => {
    for (const s of SCOPES) {
      for (const superuser of [false, true]) expect(sorted(permissionsOfScopes([s], superuser)), `${s}${superuser ? ' (system)' : ''}`).toEqual(sorted(expectedOfScopes([s], superuser)));
    }
    const combos: Scope[][] = [
      ['ingest', 'read'],
      ['ingest', 'write'],
      ['read', 'respond'],
      ['ingest', 'admin'],
    ];
    for (const c of combos) expect(sorted(permissionsOfScopes(c)), c.join(',')).toEqual(sorted(expectedOfScopes(c)));
    expect(sorted(permissionsOfScopes([]))).toEqual([]);
  });

  it('names the least scope and role for a permission in refusals', () => {
    expect(scopeFor('events:write')).toBe('ingest');
    expect(scopeFor('session:use')).toBe('read');
    expect(scopeFor('events:read')).toBe('read');
    expect(scopeFor('incidents:respond')).toBe('respond');
    expect(scopeFor('definitions:write')).toBe('write');
    expect(scopeFor('keys:manage')).toBe('admin');
    expect(scopeFor('system:manage')).toBe('admin');
    expect(roleFor('keys:manage')).toBe('admin');
    expect(roleFor('incidents:respond')).toBe('responder');
    expect(roleFor('slo:write')).toBe('editor');
    expect(roleFor('usage:read')).toBe('viewer');
  });

  it('recognises scope and permission names, and nothing else', () => {
    expect(['ingest', 'read', 'respond', 'write', 'admin'].every(isScope)).toBe(true);
    expect(isScope('superuser')).toBe(false);
    expect(isScope('')).toBe(false);
    expect(isPermission('keys:manage')).toBe(true);
    expect(isPermission('keys:delete')).toBe(false);
  });
});
