import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { LocalQuotas } from '../../src/ingest/quotas.js';
import { TokenBucket } from '../../src/ingest/token-bucket.js';
import type { Tenant } from '../../src/auth/tenants.js';

describe('TokenBucket', () => {
  it('allows the burst, then the rate, and says how long to wait', () => {
    const b = new TokenBucket(100, 200, 0);
    expect(b.take(200, 0)).toEqual({ ok: true });
    expect(b.take(1, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(b.take(50, 500)).toEqual({ ok: true });
    expect(b.take(150, 500)).toEqual({ ok: false, retryAfterSeconds: 2 });
  });

  it('lets a batch larger than the burst through when full, in debt', () => {
    const b = new TokenBucket(100, 200, 0);
    expect(b.take(500, 0)).toEqual({ ok: true });
    expect(b.available(0)).toBe(-300);
    expect(b.take(1, 2000)).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(b.take(1, 4000)).toEqual({ ok: true });
  });
});

describe('LocalQuotas', () => {
  const tenant = (over: Partial<Tenant> = {}): Tenant => ({ id: 't', createdAt: 0, eventsPerSecond: 10, burst: 20, paused: false, ...over });
  it('uses the tenant quota, refunds, and refuses a paused tenant', () => {
    const clock = new FakeClock(0);
    const q = new LocalQuotas({ eventsPerSecond: 1000, burst: 1000 }, clock);
    q.take(tenant(), 20);
    expect(() => q.take(tenant(), 1)).toThrow(/over its ingest quota of 10 events\/s/);
    q.refund(tenant(), 5);
    q.take(tenant(), 5);
    expect(() => q.precheck(tenant())).toThrow(/retry after/);
    clock.advance(1000);
    q.precheck(tenant());
    expect(() => q.precheck(tenant({ paused: true }))).toThrow(/paused/);
  });
});
