/**
 * Signing in with email and password: lock-out first (per account and per address), then one
 * scrypt check whether or not the account exists (unknown accounts are checked against a decoy
 * hash, so timing does not reveal which emails are registered), then a session. Every failure and
 * every lock-out is written to the audit log; the client only ever hears "invalid email or password".
 */
import type { AuditLog } from '../audit/audit-log.js';
import { KeelError } from '../core/errors.js';
import type { Membership, PeopleService, User } from '../people/people-service.js';
import type { Accounts } from './accounts.js';
import { decoyHash, verifyPassword } from './passwords.js';
import { openedBy, type Session, type SessionService } from './sessions.js';
import type { SignInThrottle } from './sign-in-throttle.js';

export const NOT_OPENED = (team: string): string =>
  `team "${team}" not found among the teams this password opens (a password a team admin set opens that team only; sign in with single sign-on, or ask an admin of the system tenant to set your password)`;

export interface SignInRequest {
  email: string;
  password: string;
  team?: string;
  ip: string;
  userAgent: string;
  requestId: string;
}

export interface SignedIn {
  token: string;
  session: Session;
  user: User;
  memberships: Membership[];
}

export class PasswordSignIn {
  constructor(
    private readonly deps: {
      people: PeopleService;
      accounts: Accounts;
      sessions: SessionService;
      throttle: SignInThrottle;
      audit: AuditLog;
      onResult?: (result: 'success' | 'failure' | 'locked') => void;
    },
  ) {}

  async signIn(req: SignInRequest): Promise<SignedIn> {
    const { people, accounts, sessions, throttle } = this.deps;
    const email = req.email.trim().toLowerCase();
    const locked = await throttle.lockedFor(email, req.ip);
    if (locked.ms > 0) {
      this.deps.onResult?.('locked');
      const seconds = Math.ceil(locked.ms / 1000);
      throw new KeelError('rate_limited', `too many failed sign-ins for this ${locked.by}; try again in ${seconds} s`, { retryAfterSeconds: seconds });
    }
    const user = await people.byEmail(email);
    const { hash, team: passwordTeam } = user ? await accounts.password(user.id) : { hash: null, team: null };
    const matches = await verifyPassword(req.password, hash ?? (await decoyHash(accounts.rules.hashCost)));
    const all = user ? await people.memberships(user.id) : [];
    // A password a team admin set opens that team alone: its admins may know it.
    const memberships = openedBy(all, passwordTeam);
    const named = req.team !== undefined && all.some((m) => m.tenant === req.team) ? req.team : undefined;
    const tenant = named ?? all[0]?.tenant ?? '';
    const reason = !user ? 'unknown account' : !hash ? 'no password set' : !matches ? 'wrong password' : user.disabled ? 'account disabled' : undefined;
    if (reason) {
      await this.failure(req, email, tenant, reason);
      throw new KeelError('unauthorized', 'invalid email or password');
    }
    await throttle.succeed(email);
    if (memberships.length === 0 && req.team === undefined) {
      // The same answer with no team at all and with teams this password does not open: naming
      // one would tell whoever set the password which other team the person joined.
      await this.record(req, email, all.length ? all[0]!.tenant : '', all.length ? 'the password opens none of their teams' : 'no team', false);
      throw new KeelError('forbidden', 'your account is not a member of any team this password opens; ask a team admin to add you, or sign in with single sign-on');
    }
    const team = req.team ?? memberships[0]!.tenant;
    if (!memberships.some((m) => m.tenant === team)) {
      // One answer whether the team is not theirs or not opened by this password: neither
      // confirms the team exists, nor that the person belongs to it.
      const why = all.some((m) => m.tenant === team) ? 'the password was set by an admin of another team and opens that team only' : `not a member of team ${team}`;
      await this.record(req, email, tenant, why, false);
      throw new KeelError('not_found', NOT_OPENED(team));
    }
    const { token, session } = await sessions.create({ userId: user!.id, tenant: team, method: 'password', ip: req.ip, userAgent: req.userAgent, boundTeam: passwordTeam });
    await accounts.noteSignIn(user!.id, 'password', req.ip);
    this.deps.onResult?.('success');
    return { token, session, user: user!, memberships };
  }

  private async failure(req: SignInRequest, email: string, tenant: string, reason: string): Promise<void> {
    this.deps.onResult?.('failure');
    await this.record(req, email, tenant, reason, false);
    const locked = await this.deps.throttle.fail(email, req.ip);
    if (locked.lockedAccount || locked.lockedAddress) {
      await this.deps.audit.record({
        actor: 'system',
        action: 'auth.lockout',
        tenant,
        target: locked.lockedAccount ? `user/${email}` : `address/${req.ip}`,
        after: { account: locked.lockedAccount, address: locked.lockedAddress },
        sourceIp: req.ip,
        requestId: req.requestId,
        ok: false,
      });
    }
  }

  private async record(req: SignInRequest, email: string, tenant: string, reason: string, ok: boolean): Promise<void> {
    await this.deps.audit.record({
      actor: 'anonymous',
      action: 'auth.sign_in',
      tenant,
      target: `user/${email}`,
      after: { method: 'password', reason },
      sourceIp: req.ip,
      requestId: req.requestId,
      ok,
    });
  }
}
