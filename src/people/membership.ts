/**
 * Joining a team, the one way a team gains a person. A person's profile (name, time zone) and
 * credentials belong to the person; a team owns only its membership (the role). So a team may set
 * a profile only for someone it alone holds, and every other team of the person learns, in its
 * own audit log and in the same transaction as the membership, that the person joined another
 * team, without that team being named (another team's existence is not something to confirm).
 */
import type { Transaction } from 'kysely';
import type { AuditLog } from '../audit/audit-log.js';
import type { Database } from '../store/schema.js';
import type { Membership, PeopleService, Role, User } from './people-service.js';

/** A team may change a person's profile only when it is their one and only team. */
export function teamOwnsProfile(memberships: Membership[], tenant: string): boolean {
  return memberships.length > 0 && memberships.every((m) => m.tenant === tenant);
}

export interface JoinInput {
  tenant: string;
  user: User;
  role: Role;
  /** Who added them (`key:<prefix>` or `user:<email>`), recorded in the joining team's own entry. */
  actor: string;
}

/**
 * Adds the membership and tells each other team of the person. Returns the teams told. The
 * joining team's own entry is the caller's (a route's audit, or `ownEntry` for definitions).
 */
export async function joinTeam(
  trx: Transaction<Database>,
  deps: { people: PeopleService; audit: AuditLog },
  input: JoinInput,
  options: { ownEntry?: Record<string, unknown> } = {},
): Promise<string[]> {
  const { tenant, user, role } = input;
  const others = (await deps.people.memberships(user.id, trx)).filter((m) => m.tenant !== tenant).map((m) => m.tenant);
  await deps.people.setRole(tenant, user.id, role, trx);
  const target = `user/${user.id}`;
  if (options.ownEntry) {
    await deps.audit.recordIn(trx, { target, actor: input.actor, action: 'users.add', tenant, after: { email: user.email, team: tenant, role, ...options.ownEntry } });
  }
  // Neither the adder, their address nor their team: only that it happened, and to whom.
  for (const other of others) {
    await deps.audit.recordIn(trx, {
      target,
      actor: 'system',
      action: 'users.joined_other_team',
      tenant: other,
      after: { email: user.email, note: 'this member was added to another team (not named here); nothing of their profile or of this team changed' },
    });
  }
  return others;
}
