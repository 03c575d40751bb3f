/**
 * The daily volume quota's arithmetic, pure: UTC days, lease sizes, what a lease grants, the
 * notices due, and the 429 that names the limit.
 *
 * Margin (docs/capacity.md): leased events are charged to the shared counter when leased, so the
 * events accepted across every instance never pass the quota; an instance may hold up to one
 * lease unused (given back after a second idle, or lost if it crashes), so a tenant can be refused
 * up to `instances × lease` events before its quota is really used. While the state store is
 * unreachable each instance admits without counting (fail open, like the rate quota).
 */
import { KeelError } from '../core/errors.js';
import { DAY_MS } from './forecast.js';

export function dayOf(now: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS;
}

export function secondsToNextDay(now: number): number {
  return Math.max(1, Math.ceil((dayOf(now) + DAY_MS - now) / 1000));
}

/** Events an instance leases at once: 1/200 of the quota (at least 100), at least what it needs, never more than remains. */
export function dailyLeaseSize(quota: number, need: number, remaining: number): number {
  return Math.min(Math.max(remaining, 0), Math.max(need, Math.max(100, Math.ceil(quota / 200))));
}

export type DailyLease = { granted: number } | { refused: true; remaining: number };

export function leaseDaily(quota: number, used: number, need: number): DailyLease {
  const remaining = quota - used;
  if (remaining < need) return { refused: true, remaining: Math.max(0, remaining) };
  return { granted: dailyLeaseSize(quota, need, remaining) };
}

/** The notice level reached (0, 80, 100) by `used` of `quota`. */
export function noticeLevel(used: number, quota: number): 0 | 80 | 100 {
  if (used >= quota) return 100;
  if (used >= quota * 0.8) return 80;
  return 0;
}

export function overDailyQuota(tenant: string, quota: number, used: number, asked: number, now: number): KeelError {
  const retryAfterSeconds = secondsToNextDay(now);
  return new KeelError(
    'rate_limited',
    `tenant "${tenant}" is over its daily volume quota of ${quota} events/day (${Math.min(used, quota)} used today, UTC; this request has ${asked}); it resets at ${new Date(dayOf(now) + DAY_MS).toISOString()}, retry after ${retryAfterSeconds} s`,
    { retryAfterSeconds, details: [{ path: 'quota.eventsPerDay', message: `daily volume quota of ${quota} events/day`, limit: quota, used: Math.min(used, quota) }] },
  );
}
