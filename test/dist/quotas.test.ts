/**
 * Shared ingest quotas: the token arithmetic (pure, explicit times) and two ingest instances
 * drawing from one bucket in PostgreSQL, so a tenant's quota holds across instances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/auth/tenants.js';
import { giveBack, lease, leaseSize, refill } from '../../src/cluster/quota-lease.js';
import { SharedQuotas } from '../../src/cluster/shared-quotas.js';
import { FakeClock } from '../../src/core/clock.js';
import { openPostgresStore, type Store } from '../../src/store/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { PG_URL, dropSchema, randomSchema } from '../helpers/stores.js';

describe('shared bucket arithmetic', () => {
  it('refills at the rate up to the burst', () => {
    expect(refill({ tokens: 0, updatedAt: 0 }, 500, 100, 1_000)).toBe(50);
    expect(refill({ tokens: 990, updatedAt: 0 }, 10_000, 100, 1_000)).toBe(1_000);
    expect(refill({ tokens: 10, updatedAt: 1_000 }, 500, 100, 1_000)).toBe(10);
  });

  it('grants at least what is needed and up to the lease, or says when to retry', () => {
    const full = { tokens: 1_000, updatedAt: 0 };
    expect(lease(full, 0, 100, 1_000, 10, 200)).toEqual({ granted: 200, state: { tokens: 800, updatedAt: 0 } });
    expect(lease({ tokens: 50, updatedAt: 0 }, 0, 100, 1_000, 10, 200)).toEqual({ granted: 50, state: { tokens: 0, updatedAt: 0 } });
    expect(lease({ tokens: 5, updatedAt: 0 }, 0, 100, 1_000, 10, 200)).toEqual({ retryAfterSeconds: 1, state: { tokens: 5, updatedAt: 0 } });
    expect(lease({ tokens: 0, updatedAt: 0 }, 0, 10, 1_000, 300, 300)).toMatchObject({ retryAfterSeconds: 30 });
  });

  it('lets a request larger than the burst through a full bucket, leaving it in debt', () => {
    const r = lease({ tokens: 100, updatedAt: 0 }, 0, 10, 100, 250, 250);
    expect(r).toEqual({ granted: 250, state: { tokens: -150, updatedAt: 0 } });
    expect(lease(r.state, 1_000, 10, 100, 1, 1)).toMatchObject({ retryAfterSeconds: 15 });
  });

  it('takes back unused tokens without passing the burst, and sizes leases from the rate', () => {
    expect(giveBack({ tokens: 900, updatedAt: 0 }, 0, 100, 1_000, 500)).toEqual({ tokens: 1_000, updatedAt: 0 });
    expect(leaseSize(10_000, 50_000, 200, 10)).toBe(2_000);
    expect(leaseSize(10_000, 1_000, 200, 10)).toBe(1_000);
    expect(leaseSize(10, 1_000, 200, 300)).toBe(300);
  });
});

describe('SharedQuotas across ingest instances', () => {
  let schema: string;
  let store: Store;
  const clock = new FakeClock('2026-04-01T00:00:00Z');
  const instances: SharedQuotas[] = [];
  const tenant: Tenant = { id: 'shared', createdAt: 0, eventsPerSecond: 100, burst: 1_000, paused: false };

  function instance(): SharedQuotas {
    const q = new SharedQuotas({ store, defaults: { eventsPerSecond: 1e6, burst: 1e6 }, clock, leaseMs: 200, logger: createLogger('silent') });
    instances.push(q);
    return q;
  }

  /** Takes `n` events at a time until refused; returns how many were admitted. */
  async function drain(q: SharedQuotas, n: number): Promise<number> {
    let admitted = 0;
    for (;;) {
      try {
        q.precheck(tenant);
        await q.take(tenant, n);
        admitted += n;
      } catch (e) {
        expect(e).toMatchObject({ code: 'rate_limited', retryAfterSeconds: expect.any(Number) });
        return admitted;
      }
    }
  }

  beforeAll(async () => {
    schema = randomSchema('keel_quota');
    store = await openPostgresStore(PG_URL, { schema, poolSize: 4 });
  });
  afterAll(async () => {
    for (const q of instances) await q.close();
    await store?.close();
    await dropSchema(schema);
  });

  it('admits the burst once across two instances, not once per instance', async () => {
    const a = instance();
    const b = instance();
    const [fromA, fromB] = await Promise.all([drain(a, 10), drain(b, 10)]);
    expect(fromA + fromB).toBe(1_000);
    expect(fromA).toBeGreaterThan(0);
    expect(fromB).toBeGreaterThan(0);
  });

  it('refills at the tenant rate for everyone, and gives back what an instance does not use', async () => {
    const a = instances[0]!;
    const b = instances[1]!;
    clock.advance(2_000); // 200 tokens
    await a.take(tenant, 1);
    // a leased more than it used; once idle, the rest goes back for b.
    clock.advance(1_500); // +150 tokens
    await new Promise((r) => setTimeout(r, 1_300));
    const fromB = await drain(b, 1);
    expect(fromB).toBe(349);
  });

  it('refuses a paused tenant at once', () => {
    expect(() => instances[0]!.precheck({ ...tenant, paused: true })).toThrow(/paused/);
  });
});
