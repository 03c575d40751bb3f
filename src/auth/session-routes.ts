/** HTTP routes of signing in and out, and of the caller's own session (whoami, team, password). */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import { KeelError } from '../core/errors.js';
import type { PeopleService } from '../people/people-service.js';
import type { Accounts } from './accounts.js';
import { MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';
import type { PasswordSignIn } from './password-sign-in.js';
import type { Principal } from './principal.js';
import { clearSessionCookies, setSessionCookies, type CookiePolicy } from './session-cookies.js';
import { SESSION_COOKIE, csrfTokenFor, type SessionService } from './sessions.js';
import { TENANT_ID, type TenantService } from './tenants.js';
import { passwordChangedSchema, sessionSchema, sessionTeamSchema, signedInSchema, signedOutSchema } from './schemas.js';
import { iso, userView } from './views.js';

const email = z
  .string()
  .trim()
  .min(3)
  .max(320)
  .regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address');
const password = z.string().min(1).max(MAX_PASSWORD_LENGTH);
const team = z.string().regex(TENANT_ID, 'must be a team (tenant) name');

export interface SessionRouteDeps {
  people: PeopleService;
  tenants: TenantService;
  accounts: Accounts;
  sessions: SessionService;
  signIn: PasswordSignIn;
  cookies: CookiePolicy;
}

function requireUser(p: Principal) {
  if (p.kind !== 'user') throw new KeelError('bad_request', 'this acts on a signed-in person’s session; API keys have none');
  return p;
}

export function sessionRoutes(deps: SessionRouteDeps): AnyRoute[] {
  const { people, accounts, sessions, signIn, cookies, tenants } = deps;
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/auth/sign-in',
      summary: 'Sign in with email and password',
      description:
        'Sets an HTTP-only `keel_session` cookie (SameSite=Lax) and a `keel_csrf` cookie; send the CSRF token back in `X-CSRF-Token` with every change made with the cookie. Failed sign-ins are limited per account and per address (429 with Retry-After while locked).',
      tags: ['auth'],
      permission: 'public',
      audit: 'auth.sign_in',
      body: z.object({ email, password, team: team.optional() }).strict(),
      responses: [
        { status: 200, description: 'Signed in', schema: signedInSchema },
        { status: 401, description: 'Invalid email or password' },
        { status: 429, description: 'Locked after too many failures (see Retry-After)' },
      ],
      handler: async ({ body, request, reply, audit }) => {
        const r = await signIn.signIn({
          email: body.email,
          password: body.password,
          ...(body.team ? { team: body.team } : {}),
          ip: request.ip,
          userAgent: String(request.headers['user-agent'] ?? ''),
          requestId: String(request.id),
        });
        const csrf = setSessionCookies(reply, r.token, cookies);
        const role = r.memberships.find((m) => m.tenant === r.session.tenant)!.role;
        audit({ actor: `user:${r.user.email}`, tenant: r.session.tenant, target: `user/${r.user.id}`, after: { method: 'password', team: r.session.tenant } });
        return {
          user: userView(r.user, await accounts.record(r.user.id)),
          team: r.session.tenant,
          role,
          teams: r.memberships.map((m) => ({ team: m.tenant, role: m.role })),
          csrf_token: csrf,
          expires_at: iso(r.session.expiresAt),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/auth/sign-out',
      summary: 'Sign out: end this session',
      tags: ['auth'],
      permission: 'session:use',
      audit: 'auth.sign_out',
      responses: [{ status: 200, description: 'Signed out', schema: signedOutSchema }],
      handler: async ({ principal, reply, audit }) => {
        const user = requireUser(principal);
        await sessions.revoke(user.sessionId);
        clearSessionCookies(reply, cookies);
        audit({ target: `user/${user.userId}` });
        return { signed_out: true };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/session',
      summary: 'Who am I: the caller, its team, role or scopes, and permissions',
      tags: ['auth'],
      permission: 'session:use',
      responses: [{ status: 200, description: 'The caller: an API key, or a signed-in person and their session', schema: sessionSchema }],
      handler: async ({ principal, request }) => {
        const permissions = [...principal.permissions].sort();
        if (principal.kind === 'key') {
          return { kind: 'key', tenant: principal.tenant, key: { id: principal.keyId, prefix: principal.keyPrefix, scopes: principal.scopes }, superuser: principal.superuser, permissions };
        }
        const user = await people.byId(principal.userId);
        const token = request.cookies[SESSION_COOKIE]!;
        const s = await sessions.resolve(token);
        const memberships = s?.memberships ?? [];
        return {
          kind: 'user',
          user: userView(user!, await accounts.record(principal.userId)),
          team: principal.tenant,
          role: principal.role,
          teams: memberships.map((m) => ({ team: m.tenant, role: m.role })),
          superuser: principal.superuser,
          permissions,
          csrf_token: csrfTokenFor(token),
          session: s ? { method: s.session.method, created_at: iso(s.session.createdAt), expires_at: iso(s.session.expiresAt) } : null,
        };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/session/team',
      summary: 'Choose the team this session acts on',
      description: 'A request can also name its team with the `X-Keel-Team` header; without one, the session’s team applies.',
      tags: ['auth'],
      permission: 'session:use',
      audit: 'session.switch_team',
      body: z.object({ team }).strict(),
      responses: [{ status: 200, description: 'The team and role now in use', schema: sessionTeamSchema }],
      handler: async ({ principal, body, request, audit }) => {
        const user = requireUser(principal);
        // The teams this session opens: a session signed in with a team-bound password opens one.
        const opened = (await sessions.resolve(request.cookies[SESSION_COOKIE]!))?.memberships ?? [];
        let m = opened.find((x) => x.tenant === body.team);
        // Admins of the system tenant act on any team that exists.
        if (!m && user.superuser && (await tenants.get(body.team))) m = { tenant: body.team, userId: user.userId, role: 'admin' };
        if (!m) throw new KeelError('not_found', `team "${body.team}" not found among your teams`);
        await sessions.setTeam(user.sessionId, body.team);
        audit({ target: `user/${user.userId}`, tenant: body.team, before: { team: user.tenant }, after: { team: body.team } });
        return { team: m.tenant, role: user.superuser ? 'admin' : m.role };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/session/password',
      summary: 'Change your own password (signs out your other sessions)',
      tags: ['auth'],
      permission: 'session:use',
      audit: 'users.password_change',
      body: z.object({ current_password: password, new_password: password }).strict(),
      responses: [
        { status: 200, description: 'Changed', schema: passwordChangedSchema },
        { status: 403, description: 'The current password is wrong' },
      ],
      handler: async ({ principal, body, request, audit }) => {
        const u = requireUser(principal);
        const user = (await people.byId(u.userId))!;
        const { hash } = await accounts.password(user.id);
        if (!hash) throw new KeelError('conflict', 'your account signs in with single sign-on and has no password; an admin can set one (keel users set-password)');
        if (!(await verifyPassword(body.current_password, hash))) {
          throw new KeelError('forbidden', 'the current password is wrong', { details: [{ path: 'current_password', message: 'wrong password' }] });
        }
        // The new password opens what this session opens: changing a password a team admin set
        // (and so may know) from a session it opened must not widen it to the person's other teams.
        const session = await sessions.resolve(request.cookies[SESSION_COOKIE]!);
        await accounts.setPassword(user, body.new_password, session?.session.boundTeam ?? null, u.sessionId);
        audit({ target: `user/${user.id}`, after: { password_changed: true } });
        return { changed: true };
      },
    }),
  ];
}
