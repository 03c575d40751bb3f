/**
 * People's accounts as security sees them: passwords, sign-in records, team roles, disabling.
 * Users are global (one per email) while access is per team, so a team admin changes what is
 * global about a user (password, name, disabled) only when every team of that user is theirs;
 * otherwise they can only change the user's membership of their own team. A password a team admin
 * sets opens that team only, even after the person joins others (its admins may know it).
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { joinTeam } from '../people/membership.js';
import type { Membership, PeopleService, Role, User } from '../people/people-service.js';
import type { Store } from '../store/store.js';
import { hashPassword, passwordProblem } from './passwords.js';
import type { Principal } from './principal.js';
import type { SessionService } from './sessions.js';

export interface SignInRecord {
  hasPassword: boolean;
  passwordChangedAt: number | null;
  lastSignInAt: number | null;
  lastSignInMethod: string | null;
}

export class Accounts {
  constructor(
    private readonly store: Store,
    private readonly people: PeopleService,
    private readonly sessions: SessionService,
    private readonly clock: Clock,
    readonly rules: { minPasswordLength: number; hashCost: number },
    private readonly audit: AuditLog,
  ) {}

  /** `usr_…` id or email. */
  async find(ref: string): Promise<User | undefined> {
    return ref.includes('@') ? this.people.byEmail(ref) : this.people.byId(ref);
  }

  /** The user, if the principal may see them (a member of the principal's team, or any for superusers). */
  async visible(principal: Principal, ref: string, team = principal.tenant): Promise<{ user: User; memberships: Membership[] }> {
    const user = await this.find(ref);
    const memberships = user ? await this.people.memberships(user.id) : [];
    if (!user || (!principal.superuser && !memberships.some((m) => m.tenant === team))) {
      throw new KeelError('not_found', `user ${ref} not found in team "${team}"`);
    }
    return { user, memberships };
  }

  /** May the principal change what is global about this user? */
  ownsAllTeamsOf(principal: Principal, memberships: Membership[]): boolean {
    return principal.superuser || memberships.every((m) => m.tenant === principal.tenant);
  }

  assertOwnsAllTeams(principal: Principal, user: User, memberships: Membership[], what: string): void {
    if (!this.ownsAllTeamsOf(principal, memberships)) {
      throw new KeelError(
        'forbidden',
        `${user.email} is also a member of other teams, so only an admin of the system tenant can ${what}; you can change their role in or remove them from "${principal.tenant}"`,
      );
    }
  }

  async record(userId: string): Promise<SignInRecord> {
    const r = await this.store.db.selectFrom('user_auth').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return {
      hasPassword: Boolean(r?.password_hash),
      passwordChangedAt: r?.password_changed_at == null ? null : Number(r.password_changed_at),
      lastSignInAt: r?.last_sign_in_at == null ? null : Number(r.last_sign_in_at),
      lastSignInMethod: r?.last_sign_in_method ?? null,
    };
  }

  /**
   * The sign-in record as this principal may see it: only when every team of the user is theirs
   * (or they are a system admin). When and how a person signs in elsewhere is other teams' business.
   */
  async recordFor(principal: Principal, userId: string, memberships?: Membership[]): Promise<SignInRecord | null> {
    const teams = memberships ?? (await this.people.memberships(userId));
    return this.ownsAllTeamsOf(principal, teams) ? this.record(userId) : null;
  }

  /** The password hash and the one team it opens (null: every team of the person). */
  async password(userId: string): Promise<{ hash: string | null; team: string | null }> {
    const r = await this.store.db.selectFrom('user_auth').select(['password_hash', 'password_team']).where('user_id', '=', userId).executeTakeFirst();
    return { hash: r?.password_hash ?? null, team: r?.password_team ?? null };
  }

  checkPassword(password: string, email: string): void {
    const problem = passwordProblem(password, { minLength: this.rules.minPasswordLength, email });
    if (problem) throw new KeelError('validation_failed', `password ${problem.message}`, { details: [problem] });
  }

  /** Who sets a password decides what it opens: a team admin's opens their team alone, a system admin's every team. */
  static passwordTeamFor(principal: Principal): string | null {
    return principal.superuser ? null : principal.tenant;
  }

  /**
   * Sets a password (policy checked) and signs the user out everywhere else. `team`: the one team
   * it opens, because that team's admins may know it (null: every team of the person).
   */
  async setPassword(user: User, password: string, team: string | null, keepSessionId?: string): Promise<void> {
    this.checkPassword(password, user.email);
    const hash = await hashPassword(password, this.rules.hashCost);
    const now = this.clock.now();
    await this.store.db
      .insertInto('user_auth')
      .values({ user_id: user.id, password_hash: hash, password_changed_at: now, password_team: team, last_sign_in_at: null, last_sign_in_method: null, last_sign_in_ip: null })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ password_hash: hash, password_changed_at: now, password_team: team }))
      .execute();
    await this.sessions.revokeUser(user.id, keepSessionId);
  }

  async noteSignIn(userId: string, method: string, ip: string): Promise<void> {
    const now = this.clock.now();
    await this.store.db
      .insertInto('user_auth')
      .values({ user_id: userId, password_hash: null, password_changed_at: null, password_team: null, last_sign_in_at: now, last_sign_in_method: method, last_sign_in_ip: ip })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ last_sign_in_at: now, last_sign_in_method: method, last_sign_in_ip: ip }))
      .execute();
  }

  /**
   * Makes an existing user a member of a team; their other teams are told in their audit logs
   * (same transaction). Nothing of the person (profile, password) changes.
   */
  async addToTeam(team: string, user: User, role: Role, actor: string): Promise<void> {
    await this.store.db.transaction().execute((trx) => joinTeam(trx, { people: this.people, audit: this.audit }, { tenant: team, user, role, actor }));
    this.sessions.forget();
  }

  async setRole(team: string, user: User, role: Role): Promise<void> {
    await this.people.setRole(team, user.id, role);
    this.sessions.forget();
  }

  async removeFromTeam(team: string, user: User): Promise<void> {
    await this.people.removeMember(team, user.id);
    this.sessions.forget();
  }

  async setDisabled(user: User, disabled: boolean): Promise<void> {
    await this.people.setDisabled(user.id, disabled);
    if (disabled) await this.sessions.revokeUser(user.id);
    this.sessions.forget();
  }
}
