/** HTTP routes of people and their roles in a team (`keel users …`). */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import { KeelError } from '../core/errors.js';
import { ROLES, assertTimeZone, type PeopleService } from '../people/people-service.js';
import type { TenantService } from './tenants.js';
import { Accounts } from './accounts.js';
import { MAX_PASSWORD_LENGTH } from './passwords.js';
import type { Principal } from './principal.js';
import { TENANT_ID } from './tenants.js';
import { assertTenantAccess } from './routes.js';
import { addedUserSchema, passwordSetSchema, userListSchema, userRemovedSchema, userViewSchema } from './schemas.js';
import { userView } from './views.js';

const email = z
  .string()
  .trim()
  .min(3)
  .max(320)
  .regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address');
const team = z.string().regex(TENANT_ID, 'must be a team (tenant) name');
const role = z.enum(ROLES);
const userParam = z.object({ user: z.string().min(1).max(320).describe('User id (usr_…) or email') }).strict();

/** The team a request addresses: its own, or (for superusers) any named one; others' teams are 404. */
function teamOf(principal: Principal, named: string | undefined): string {
  const t = named ?? principal.tenant;
  assertTenantAccess(principal, t);
  return t;
}

export function userRoutes(deps: { people: PeopleService; accounts: Accounts; tenants: TenantService }): AnyRoute[] {
  const { people, accounts, tenants } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/users',
      summary: 'List the members of a team with their roles and last sign-in',
      tags: ['users'],
      permission: 'users:read',
      query: z.object({ team: team.optional() }).strict(),
      responses: [{ status: 200, description: 'Members', schema: userListSchema }],
      handler: async ({ principal, query }) => {
        const t = teamOf(principal, query.team);
        const members = await people.members(t);
        return { team: t, users: await Promise.all(members.map(async (m) => userView(m, await accounts.recordFor(principal, m.id), { role: m.role }))) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/users/:user',
      summary: 'Show a member of the team',
      tags: ['users'],
      permission: 'users:read',
      params: userParam,
      responses: [{ status: 200, description: 'The user', schema: userViewSchema }],
      handler: async ({ principal, params }) => {
        const { user, memberships } = await accounts.visible(principal, params.user);
        const role = memberships.find((m) => m.tenant === principal.tenant)?.role;
        return userView(user, await accounts.recordFor(principal, user.id, memberships), { ...(role ? { role } : {}), ...(principal.superuser ? { teams: memberships } : {}) });
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/users',
      summary: 'Add a person to a team with a role (creating the user if new)',
      description:
        'A person who already exists (same email) is only given the membership: their name, time zone and password are theirs and stay as they are, the answer holds the membership only, and each of their other teams gets an audit entry (`users.joined_other_team`) that does not name yours.',
      tags: ['users'],
      permission: 'users:manage',
      audit: 'users.add',
      body: z
        .object({
          email,
          name: z.string().trim().min(1).max(200),
          time_zone: z.string().max(100).optional(),
          role,
          team: team.optional(),
          password: z.string().min(1).max(MAX_PASSWORD_LENGTH).optional(),
        })
        .strict(),
      responses: [
        { status: 201, description: 'The member (an existing person: the membership only)', schema: addedUserSchema },
        { status: 409, description: 'Already a member of the team' },
      ],
      handler: async ({ principal, body, audit }) => {
        const t = teamOf(principal, body.team);
        if (body.time_zone) assertTimeZone(body.time_zone);
        if (body.password) accounts.checkPassword(body.password, body.email);
        await tenants.require(t);
        const existing = await people.byEmail(body.email);
        const memberships = existing ? await people.memberships(existing.id) : [];
        if (memberships.some((m) => m.tenant === t)) throw new KeelError('conflict', `${body.email} is already a member of "${t}"; use PATCH /v1/users/:user to change their role`);
        // An existing person keeps their profile: name, time zone and password are theirs.
        if (existing && body.password) accounts.assertOwnsAllTeams(principal, existing, memberships, 'set their password');
        const user = existing ?? (await people.upsert({ email: body.email, name: body.name, ...(body.time_zone ? { timeZone: body.time_zone } : {}) }));
        const opens = Accounts.passwordTeamFor(principal);
        if (body.password) await accounts.setPassword(user, body.password, opens);
        await accounts.addToTeam(t, user, body.role, principal.actor);
        audit({
          target: `user/${user.id}`,
          tenant: t,
          after: { email: user.email, team: t, role: body.role, created: !existing, password_set: Boolean(body.password), ...(body.password ? { password_opens: opens ?? 'all their teams' } : {}) },
        });
        // Someone who existed before is answered with the membership only: their profile and
        // sign-in record are not this team's to learn (system admins see everything).
        if (existing && !principal.superuser) {
          return { id: user.id, email: user.email, team: t, role: body.role, profile: 'kept: an existing person’s name, time zone and password are theirs' };
        }
        return { ...userView(user, await accounts.record(user.id), { role: body.role }), team: t };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/users/:user',
      summary: 'Change a member’s role in the team, or their name, time zone or disabled state',
      tags: ['users'],
      permission: 'users:manage',
      audit: 'users.update',
      params: userParam,
      body: z
        .object({
          role: role.optional(),
          name: z.string().trim().min(1).max(200).optional(),
          time_zone: z.string().max(100).optional(),
          disabled: z.boolean().optional(),
          team: team.optional(),
        })
        .strict(),
      responses: [{ status: 200, description: 'The member', schema: userViewSchema }],
      handler: async ({ principal, params, body, audit }) => {
        const t = teamOf(principal, body.team);
        const { user, memberships } = await accounts.visible(principal, params.user, t);
        const beforeRole = memberships.find((m) => m.tenant === t)?.role;
        if (body.name !== undefined || body.time_zone !== undefined || body.disabled !== undefined) {
          accounts.assertOwnsAllTeams(principal, user, memberships, 'change their name, time zone or disabled state');
        }
        if (body.time_zone) assertTimeZone(body.time_zone);
        if (body.name !== undefined || body.time_zone !== undefined) {
          await people.upsert({ email: user.email, name: body.name ?? user.name, timeZone: body.time_zone ?? user.timeZone });
        }
        if (body.disabled !== undefined) await accounts.setDisabled(user, body.disabled);
        if (body.role) {
          if (principal.kind === 'user' && principal.userId === user.id && t === principal.tenant && body.role !== 'admin' && beforeRole === 'admin') {
            throw new KeelError('conflict', 'you cannot lower your own admin role; another admin must do it');
          }
          await accounts.setRole(t, user, body.role);
        }
        const after = (await people.byId(user.id))!;
        const role = body.role ?? beforeRole;
        audit({
          target: `user/${user.id}`,
          tenant: t,
          before: { role: beforeRole, name: user.name, time_zone: user.timeZone, disabled: user.disabled },
          after: { role, name: after.name, time_zone: after.timeZone, disabled: after.disabled },
        });
        return userView(after, await accounts.recordFor(principal, user.id), { ...(role ? { role } : {}) });
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/users/:user/password',
      summary: 'Set a user’s password (signs them out everywhere)',
      description: 'A password a team admin sets opens that team only (its admins may know it), including after the person joins other teams; one a system admin sets opens all their teams.',
      tags: ['users'],
      permission: 'users:manage',
      audit: 'users.set_password',
      params: userParam,
      body: z.object({ password: z.string().min(1).max(MAX_PASSWORD_LENGTH) }).strict(),
      responses: [{ status: 200, description: 'Set', schema: passwordSetSchema }],
      handler: async ({ principal, params, body, audit }) => {
        const { user, memberships } = await accounts.visible(principal, params.user);
        accounts.assertOwnsAllTeams(principal, user, memberships, 'set their password');
        const opens = Accounts.passwordTeamFor(principal);
        await accounts.setPassword(user, body.password, opens);
        audit({ target: `user/${user.id}`, after: { password_set: true, password_opens: opens ?? 'all their teams' } });
        return { id: user.id, email: user.email, password_set: true, opens: opens === null ? 'all their teams' : [opens] };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/users/:user',
      summary: 'Remove a member from the team',
      tags: ['users'],
      permission: 'users:manage',
      audit: 'users.remove',
      params: userParam,
      query: z.object({ team: team.optional() }).strict(),
      responses: [{ status: 200, description: 'Removed', schema: userRemovedSchema }],
      handler: async ({ principal, params, query, audit }) => {
        const t = teamOf(principal, query.team);
        const { user, memberships } = await accounts.visible(principal, params.user, t);
        const role = memberships.find((m) => m.tenant === t)?.role;
        if (!role) throw new KeelError('not_found', `user ${params.user} not found in team "${t}"`);
        await accounts.removeFromTeam(t, user);
        audit({ target: `user/${user.id}`, tenant: t, before: { email: user.email, team: t, role } });
        return { id: user.id, email: user.email, team: t, removed: true };
      },
    }),
  ];
}
