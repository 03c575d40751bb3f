import { describe, expect, it } from 'vitest';
import { CLEAR, afterFailure, lockedFor, type ThrottleState } from '../../src/auth/lockout.js';

const rule = { maxFailures: 3, windowMs: 60_000, lockoutMs: 300_000 };

function fail(times: number[], start: ThrottleState = CLEAR) {
  let s = start;
  const locks: number[] = [];
  for (const t of times) {
    const r = afterFailure(s, rule, t);
    s = r.state;
    if (r.locked) locks.push(t);
  }
  return { state: s, locks };
}

describe('sign-in lock-out', () => {
  it('locks on the third failure within the window, for the lock-out time', () => {
    const { state, locks } = fail([1_000, 2_000, 3_000]);
    expect(locks).toEqual([3_000]);
    expect(lockedFor(state, 3_000)).toBe(300_000);
    expect(lockedFor(state, 303_000)).toBe(0);
  });

  it('does not lock failures spread wider than the window', () => {
    const { locks } = fail([0, 30_000, 61_000, 90_000, 125_000]);
    expect(locks).toEqual([]);
  });

  it('ignores failures while locked, and counts afresh after the lock ends', () => {
    const { state } = fail([0, 1, 2]);
    const during = afterFailure(state, rule, 10_000);
    expect(during.locked).toBe(false);
    expect(during.state).toEqual(state);
    const after = fail([400_000, 400_001], during.state);
    expect(after.locks).toEqual([]);
    expect(lockedFor(after.state, 400_002)).toBe(0);
    expect(fail([400_002], after.state).locks).toEqual([400_002]);
  });
});
