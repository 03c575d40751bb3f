/**
 * How the server learns who is calling: an API key (`Authorization: Bearer`, or `X-API-Key`), or
 * a session cookie from signing in. Each request acts on one team (tenant): the one named by the
 * `X-Keel-Team` header, else the session's current team or the key's tenant. People act on teams
 * they are members of, with their role there; admins of the system tenant (keys and people) may
 * name any team and act on it as admins. Cookie-authenticated changes must carry the session's
 * CSRF token in `X-CSRF-Token`; API keys are exempt (a browser never sends them on its own).
 */
import type { Authenticator, AuthRequest } from '../api/server.js';
import { KeelError } from '../core/errors.js';
import type { Membership } from '../people/people-service.js';
import type { ApiKeyService } from './api-keys.js';
import { PERMISSION_GRANTS, permissionsOfRole, roleFor, scopeFor } from './permissions.js';
import { actorOf, type UserPrincipal } from './principal.js';
import { CSRF_HEADER, SESSION_COOKIE, csrfMatches, type ResolvedSession, type SessionService } from './sessions.js';
import { SYSTEM_TENANT, TENANT_ID, type TenantService } from './tenants.js';

export const TEAM_HEADER = 'x-keel-team';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function bearerOf(headers: AuthRequest['headers']): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 0) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw new KeelError('unauthorized', 'the Authorization header must be "Bearer <API key>"');
    return m[1];
  }
  const x = headers['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function isSystemAdmin(memberships: Membership[]): boolean {
  return memberships.some((m) => m.tenant === SYSTEM_TENANT && m.role === 'admin');
}

export function userPrincipal(r: ResolvedSession, m: Membership): UserPrincipal {
  const superuser = isSystemAdmin(r.memberships);
  const role = superuser ? 'admin' : m.role;
  return {
    kind: 'user',
    tenant: m.tenant,
    userId: r.user.id,
    email: r.user.email,
    role,
    sessionId: r.session.id,
    permissions: permissionsOfRole(role, superuser),
    superuser,
    actor: `user:${r.user.email}`,
  };
}

const notYourTeam = (team: string) => new KeelError('not_found', `team "${team}" not found among your teams`);

export function createAuthenticator(deps: { keys: ApiKeyService; sessions: SessionService; tenants: TenantService }): Authenticator {
  /** A system admin may act on any team that exists. */
  const assertExists = async (team: string) => {
    if (!TENANT_ID.test(team) || !(await deps.tenants.get(team))) throw notYourTeam(team);
  };
  return {
    authenticate: async (req) => {
      const named = headerValue(req.headers[TEAM_HEADER]);
      const key = bearerOf(req.headers);
      if (key) {
        const p = await deps.keys.authenticate(key);
        if (named === undefined || named === p.tenant) return p;
        // 404, not 403: whether a team you do not belong to exists is not something to confirm.
        if (!p.superuser) throw notYourTeam(named);
        await assertExists(named);
        return { ...p, tenant: named };
      }
      const token = req.cookies[SESSION_COOKIE];
      if (!token) return undefined;
      const resolved = await deps.sessions.resolve(token);
      if (!resolved) throw new KeelError('unauthorized', 'your session has ended (expired, signed out, or the account was disabled); sign in again');
      const team = named ?? resolved.session.tenant;
      let membership = resolved.memberships.find((m) => m.tenant === team);
      if (!membership && isSystemAdmin(resolved.memberships)) {
        await assertExists(team);
        membership = { tenant: team, userId: resolved.user.id, role: 'admin' };
      }
      if (!membership) throw notYourTeam(team);
      if (!SAFE_METHODS.has(req.method) && !csrfMatches(token, headerValue(req.headers[CSRF_HEADER]))) {
        throw new KeelError('forbidden', 'missing or wrong X-CSRF-Token header: changes made with a session cookie need the csrf_token given at sign-in (also in GET /v1/session)');
      }
      return userPrincipal(resolved, membership);
    },
    describe: (permission, principal) => {
      const system = PERMISSION_GRANTS[permission].systemOnly ? ` of the "${SYSTEM_TENANT}" tenant` : '';
      return principal.kind === 'key'
        ? `this key lacks the permission ${permission} (scope "${scopeFor(permission)}"${system})`
        : `your role ${principal.role} in team "${principal.tenant}" lacks the permission ${permission} (role ${roleFor(permission)}${system})`;
    },
    actor: actorOf,
  };
}
