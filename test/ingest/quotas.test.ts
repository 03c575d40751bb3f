/**
 * Ingest quotas at their edges: refills from any start time, a clock that steps back, the cheap
 * "anything left?" check before parsing, a tenant whose quota changes while its bucket is in use,
 * and the exact 429s (code, Retry-After, message) a client sees.
 */
import { describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/auth/tenants.js';
import { FakeClock } from '../../src/core/clock.js';
import { KeelError } from '../../src/core/errors.js';
import { LocalQuotas, overQuota, paused } from '../../src/ingest/quotas.js';
import { TokenBucket } from '../../src/ingest/token-bucket.js';

const T = 1_700_000_000_000;

describe('TokenBucket at any start time', () => {
  it('refills by the time elapsed since its last use, up to the burst', () => {
    const b = new TokenBucket(100, 200, T);
    expect(b.take(200, T)).toEqual({ ok: true });
    expect(b.available(T + 500)).toBe(50);
    expect(b.available(T + 1_000)).toBe(100);
    expect(b.available(T + 60_000)).toBe(200);
  });

  it('does not lose tokens when the clock steps back', () => {
    const b = new TokenBucket(100, 200, T);
    b.take(100, T);
    expect(b.available(T - 5_000)).toBe(100);
    // ...and refills from where it was, not from the earlier time.
    expect(b.available(T + 500)).toBe(150);
  });

  it('says whether anything at all is left, and when something will be', () => {
    const b = new TokenBucket(10, 20, T);
    expect(b.empty(T)).toEqual({ empty: false });
    b.take(20, T);
    expect(b.empty(T)).toEqual({ empty: true, retryAfterSeconds: 1 });
    // In debt: 30 tokens owed at 10/s, the first one back after 4 s (rounded up).
    b.take(30, T + 100_000); // full again (20), 30 taken: 10 owed
    expect(b.available(T + 100_000)).toBe(-10);
    expect(b.empty(T + 100_000)).toEqual({ empty: true, retryAfterSeconds: 2 });
    expect(b.empty(T + 101_000)).toEqual({ empty: true, retryAfterSeconds: 1 });
    expect(b.empty(T + 101_001)).toEqual({ empty: false });
  });

  it('never gives back more than the burst', () => {
    const b = new TokenBucket(10, 20, T);
    b.take(5, T);
    b.give(50, T);
    expect(b.available(T)).toBe(20);
  });
});

describe('LocalQuotas', () => {
  const tenant = (over: Partial<Tenant> = {}): Tenant => ({ id: 'acme', createdAt: 0, eventsPerSecond: 10, burst: 20, paused: false, ...over });

  it('follows a tenant’s changed quota with the bucket it has', () => {
    const clock = new FakeClock(T);
    const q = new LocalQuotas({ eventsPerSecond: 1000, burst: 1000 }, clock);
    q.take(tenant(), 20);
    expect(() => q.take(tenant(), 1)).toThrow('tenant "acme" is over its ingest quota of 10 events/s (burst 20); retry after 1 s');
    // Raised to 100/s: the next second refills 100, not 10; what was taken stays taken.
    clock.advance(1_000);
    q.take(tenant({ eventsPerSecond: 100, burst: 200 }), 100);
    expect(() => q.take(tenant({ eventsPerSecond: 100, burst: 200 }), 1)).toThrow('over its ingest quota of 100 events/s (burst 200)');
    // Only the burst changed: the new burst is what a refill stops at.
    clock.advance(10_000);
    q.take(tenant({ eventsPerSecond: 100, burst: 50 }), 50);
    expect(() => q.take(tenant({ eventsPerSecond: 100, burst: 50 }), 1)).toThrow('(burst 50)');
    clock.advance(10_000);
    q.take(tenant({ eventsPerSecond: 5, burst: 50 }), 50);
    expect(() => q.take(tenant({ eventsPerSecond: 5, burst: 50 }), 5)).toThrow('of 5 events/s (burst 50); retry after 1 s');
  });

  it('uses the defaults for a tenant without a quota of its own, one bucket per tenant', () => {
    const clock = new FakeClock(T);
    const q = new LocalQuotas({ eventsPerSecond: 2, burst: 3 }, clock);
    const plain = tenant({ eventsPerSecond: null, burst: null } as unknown as Partial<Tenant>);
    q.take(plain, 3);
    expect(() => q.take(plain, 1)).toThrow('of 2 events/s (burst 3)');
    q.take({ ...plain, id: 'beta' }, 3);
  });

  it('answers 429 with Retry-After, before parsing when nothing is left, and when paused', () => {
    const clock = new FakeClock(T);
    const q = new LocalQuotas({ eventsPerSecond: 1000, burst: 1000 }, clock);
    q.take(tenant(), 20);
    let err: unknown;
    try {
      q.precheck(tenant());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeelError);
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSeconds: 1, message: 'tenant "acme" is over its ingest quota of 10 events/s (burst 20); retry after 1 s' });
    expect(() => q.precheck(tenant({ paused: true }))).toThrow('ingest for tenant "acme" is paused by an operator');
    expect(paused(tenant())).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSeconds: 60 });
    expect(overQuota(tenant(), 7, { rate: 3, burst: 4 })).toMatchObject({
      code: 'rate_limited',
      retryAfterSeconds: 7,
      message: 'tenant "acme" is over its ingest quota of 3 events/s (burst 4); retry after 7 s',
    });
    // A refund makes room again.
    q.refund(tenant(), 5);
    q.precheck(tenant());
    q.take(tenant(), 5);
    expect(() => q.take(tenant(), 1)).toThrow(KeelError);
  });
});
