/** Users and team membership. */
import { DateTime } from 'luxon';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Db } from '../store/schema.js';
import type { Store } from '../store/store.js';

export const ROLES = ['viewer', 'responder', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  email: string;
  name: string;
  timeZone: string;
  createdAt: number;
  disabled: boolean;
}

export interface Membership {
  tenant: string;
  userId: string;
  role: Role;
}

export function isRole(r: string): r is Role {
  return (ROLES as readonly string[]).includes(r);
}

export function assertTimeZone(tz: string): void {
  if (!DateTime.local().setZone(tz).isValid) {
    throw new KeelError('validation_failed', `"${tz}" is not an IANA time zone (e.g. Europe/Berlin)`, {
      details: [{ path: 'timeZone', message: 'unknown time zone' }],
    });
  }
}

export class PeopleService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async byEmail(email: string, db: Db = this.store.db): Promise<User | undefined> {
    const r = await db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
    return r && toUser(r);
  }

  async byId(id: string, db: Db = this.store.db): Promise<User | undefined> {
    const r = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toUser(r);
  }

  /** Creates the user, or updates name and time zone of the one with this email. */
  async upsert(input: { email: string; name: string; timeZone?: string }, db: Db = this.store.db): Promise<User> {
    const email = input.email.toLowerCase();
    const tz = input.timeZone ?? 'UTC';
    assertTimeZone(tz);
    const existing = await this.byEmail(email, db);
    if (existing) {
      await db.updateTable('users').set({ name: input.name, time_zone: tz }).where('id', '=', existing.id).execute();
      return { ...existing, name: input.name, timeZone: tz };
    }
    const user = { id: newId('usr'), email, name: input.name, time_zone: tz, created_at: this.clock.now(), disabled: 0 };
    await db.insertInto('users').values(user).execute();
    return toUser(user);
  }

  async setDisabled(id: string, disabled: boolean, db: Db = this.store.db): Promise<void> {
    await db
      .updateTable('users')
      .set({ disabled: disabled ? 1 : 0 })
      .where('id', '=', id)
      .execute();
  }

  async members(tenant: string, db: Db = this.store.db): Promise<(User & { role: Role })[]> {
    const rows = await db
      .selectFrom('team_members')
      .innerJoin('users', 'users.id', 'team_members.user_id')
      .selectAll('users')
      .select('team_members.role')
      .where('team_members.tenant_id', '=', tenant)
      .orderBy('users.email')
      .execute();
    return rows.map((r) => ({ ...toUser(r), role: r.role as Role }));
  }

  async memberships(userId: string, db: Db = this.store.db): Promise<Membership[]> {
    const rows = await db.selectFrom('team_members').selectAll().where('user_id', '=', userId).execute();
    return rows.map((r) => ({ tenant: r.tenant_id, userId: r.user_id, role: r.role as Role }));
  }

  async setRole(tenant: string, userId: string, role: Role, db: Db = this.store.db): Promise<void> {
    await db
      .insertInto('team_members')
      .values({ tenant_id: tenant, user_id: userId, role, created_at: this.clock.now() })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doUpdateSet({ role }))
      .execute();
  }

  async removeMember(tenant: string, userId: string, db: Db = this.store.db): Promise<void> {
    await db.deleteFrom('team_members').where('tenant_id', '=', tenant).where('user_id', '=', userId).execute();
  }
}

function toUser(r: { id: string; email: string; name: string; time_zone: string; created_at: number; disabled: number }): User {
  return { id: r.id, email: r.email, name: r.name, timeZone: r.time_zone, createdAt: Number(r.created_at), disabled: r.disabled === 1 };
}
