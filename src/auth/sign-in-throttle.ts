/**
 * Failed sign-ins counted per account and per address in the state store, so lock-outs hold
 * across restarts and across API instances. The decisions are the pure functions of lockout.ts.
 */
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import { CLEAR, afterFailure, lockedFor, type LockoutRule, type ThrottleState } from './lockout.js';

export interface ThrottleRules {
  perUser: LockoutRule;
  perAddress: LockoutRule;
}

export const userKey = (email: string) => `user:${email.toLowerCase()}`;
export const addressKey = (ip: string) => `ip:${ip}`;

export class SignInThrottle {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly rules: ThrottleRules,
  ) {}

  private async state(key: string): Promise<ThrottleState> {
    const r = await this.store.db.selectFrom('sign_in_throttle').selectAll().where('key', '=', key).executeTakeFirst();
    return r ? { failures: r.failures, windowStart: Number(r.window_start), lockedUntil: Number(r.locked_until) } : CLEAR;
  }

  /** Milliseconds until both the account and the address may try again (0: now). */
  async lockedFor(email: string, ip: string): Promise<{ ms: number; by?: 'account' | 'address' }> {
    const now = this.clock.now();
    const u = lockedFor(await this.state(userKey(email)), now);
    const a = lockedFor(await this.state(addressKey(ip)), now);
    if (u === 0 && a === 0) return { ms: 0 };
    return u >= a ? { ms: u, by: 'account' } : { ms: a, by: 'address' };
  }

  /** Counts a failure for the account and the address; says which of them it locked. */
  async fail(email: string, ip: string): Promise<{ lockedAccount: boolean; lockedAddress: boolean }> {
    const lockedAccount = await this.bump(userKey(email), this.rules.perUser);
    const lockedAddress = await this.bump(addressKey(ip), this.rules.perAddress);
    return { lockedAccount, lockedAddress };
  }

  async succeed(email: string): Promise<void> {
    await this.store.db.deleteFrom('sign_in_throttle').where('key', '=', userKey(email)).execute();
  }

  private async bump(key: string, rule: LockoutRule): Promise<boolean> {
    return this.store.db.transaction().execute(async (trx) => {
      let q = trx.selectFrom('sign_in_throttle').selectAll().where('key', '=', key);
      // Two API instances failing the same account at once must not both read the old count.
      if (this.store.engine === 'postgres') q = q.forUpdate();
      const row = await q.executeTakeFirst();
      const before = row ? { failures: row.failures, windowStart: Number(row.window_start), lockedUntil: Number(row.locked_until) } : CLEAR;
      const { state, locked } = afterFailure(before, rule, this.clock.now());
      const values = { failures: state.failures, window_start: state.windowStart, locked_until: state.lockedUntil };
      await trx
        .insertInto('sign_in_throttle')
        .values({ key, ...values })
        .onConflict((oc) => oc.column('key').doUpdateSet(values))
        .execute();
      return locked;
    });
  }
}
