/**
 * Sign-in lock-out, as pure functions of a counter and explicit times: a key (an account or an
 * address) that fails `maxFailures` times within `windowMs` is locked for `lockoutMs`. Counting
 * starts again after a lock ends; a success clears an account's counter.
 */
export interface LockoutRule {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

export interface ThrottleState {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

export const CLEAR: ThrottleState = { failures: 0, windowStart: 0, lockedUntil: 0 };

/** Milliseconds the key stays locked, 0 when it is not. */
export function lockedFor(state: ThrottleState, now: number): number {
  return Math.max(0, state.lockedUntil - now);
}

/** The state after one more failure, and whether that failure locked the key. */
export function afterFailure(state: ThrottleState, rule: LockoutRule, now: number): { state: ThrottleState; locked: boolean } {
  if (lockedFor(state, now) > 0) return { state, locked: false };
  const fresh = now - state.windowStart >= rule.windowMs || state.failures === 0;
  const failures = fresh ? 1 : state.failures + 1;
  const windowStart = fresh ? now : state.windowStart;
  if (failures >= rule.maxFailures) return { state: { failures: 0, windowStart: now, lockedUntil: now + rule.lockoutMs }, locked: true };
  return { state: { failures, windowStart, lockedUntil: state.lockedUntil }, locked: false };
}
