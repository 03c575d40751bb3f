/**
 * Per-tenant ingest quotas shared by every ingest instance: one token bucket per tenant in
 * PostgreSQL (`quota_buckets`), from which each instance leases tokens in chunks (see
 * quota-lease.ts). A request usually spends from the local lease without a round trip.
 *
 * Tolerance (documented in docs/distributed.md): leased tokens are prepaid, so the tenants' rates
 * hold across instances; but up to one lease (quotaLease ms of rate) per instance may sit unused
 * in another instance for up to a second before it is given back, so a tenant can see a 429 while
 * that much of its rate is parked elsewhere. While PostgreSQL is unreachable each instance falls
 * back to its own in-memory bucket (fail open: up to the full rate per instance).
 */
import { returnAllLeases, returnIdleLeases } from '../core/leased-tokens.js';
import type { Transaction } from 'kysely';
import type { Tenant } from '../auth/tenants.js';
import type { Clock } from '../core/clock.js';
import { isKeelError } from '../core/errors.js';
import { LocalQuotas, overQuota, paused, type QuotaDefaults, type QuotaGate } from '../ingest/quotas.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import { giveBack, lease, leaseSize, type BucketState } from './quota-lease.js';

interface Allowance {
  tokens: number;
  lastUsed: number;
  /** The shared bucket refused until then: precheck answers 429 without a round trip. */
  emptyUntil: number;
  retryAfterSeconds: number;
  /** Serialises this instance's leases of one tenant. */
  queue: Promise<unknown>;
  /** The tenant's limits when it last leased (giving back refills at the same rate). */
  rate: number;
  burst: number;
}

const IDLE_RETURN_MS = 1_000;

export class SharedQuotas implements QuotaGate {
  private readonly allowances = new Map<string, Allowance>();
  private readonly fallback: LocalQuotas;
  private readonly timer: NodeJS.Timeout;
  private degraded = false;

  constructor(private readonly o: { store: Store; defaults: QuotaDefaults; clock: Clock; leaseMs: number; logger: Logger }) {
    this.fallback = new LocalQuotas(o.defaults, o.clock);
    this.timer = setInterval(() => void this.returnIdle(), IDLE_RETURN_MS);
    this.timer.unref();
  }

  private limits(t: Tenant): { rate: number; burst: number } {
    return { rate: t.eventsPerSecond ?? this.o.defaults.eventsPerSecond, burst: t.burst ?? this.o.defaults.burst };
  }

  private allowance(id: string): Allowance {
    let a = this.allowances.get(id);
    if (!a) {
      a = { tokens: 0, lastUsed: 0, emptyUntil: 0, retryAfterSeconds: 1, queue: Promise.resolve(), rate: 1, burst: 1 };
      this.allowances.set(id, a);
    }
    return a;
  }

  precheck(tenant: Tenant): void {
    if (tenant.paused) throw paused(tenant);
    if (this.degraded) return this.fallback.precheck(tenant);
    const a = this.allowance(tenant.id);
    if (a.tokens <= 0 && this.o.clock.now() < a.emptyUntil) throw overQuota(tenant, a.retryAfterSeconds, this.limits(tenant));
  }

  async take(tenant: Tenant, n: number): Promise<void> {
    const a = this.allowance(tenant.id);
    a.lastUsed = this.o.clock.now();
    if (a.tokens >= n) {
      a.tokens -= n;
      return;
    }
    const turn = a.queue.then(() => this.takeShared(tenant, a, n));
    a.queue = turn.catch(() => undefined);
    return turn;
  }

  private async takeShared(tenant: Tenant, a: Allowance, n: number): Promise<void> {
    // Another request may have leased enough while this one waited its turn.
    if (a.tokens >= n) {
      a.tokens -= n;
      return;
    }
    const { rate, burst } = this.limits(tenant);
    a.rate = rate;
    a.burst = burst;
    const need = n - Math.max(0, a.tokens);
    let result;
    try {
      result = await this.leaseShared(tenant.id, rate, burst, need, leaseSize(rate, burst, this.o.leaseMs, need));
      if (this.degraded) this.o.logger.info('shared quotas reachable again');
      this.degraded = false;
    } catch (err) {
      if (isKeelError(err)) throw err;
      if (!this.degraded) this.o.logger.warn({ err }, 'shared quotas unreachable; enforcing quotas per instance until PostgreSQL returns');
      this.degraded = true;
      return this.fallback.take(tenant, n);
    }
    if ('retryAfterSeconds' in result) {
      a.emptyUntil = this.o.clock.now() + result.retryAfterSeconds * 1000;
      a.retryAfterSeconds = result.retryAfterSeconds;
      throw overQuota(tenant, result.retryAfterSeconds, { rate, burst });
    }
    a.emptyUntil = 0;
    a.tokens += result.granted - n;
  }

  private async leaseShared(tenantId: string, rate: number, burst: number, need: number, want: number) {
    const now = this.o.clock.now();
    return this.o.store.db.transaction().execute(async (trx) => {
      const state = await lockBucket(trx, tenantId, burst, now);
      const r = lease(state, now, rate, burst, need, want);
      await trx.updateTable('quota_buckets').set({ tokens: r.state.tokens, updated_at: r.state.updatedAt }).where('tenant_id', '=', tenantId).execute();
      return r;
    });
  }

  refund(tenant: Tenant, n: number): void {
    if (this.degraded) return this.fallback.refund(tenant, n);
    this.allowance(tenant.id).tokens += n;
  }

  /** Gives back leases an instance has not used for a second, so other instances can have them. */
  private async returnIdle(): Promise<void> {
    const now = this.o.clock.now();
    await returnIdleLeases(
      this.allowances,
      now,
      IDLE_RETURN_MS,
      () => true,
      (id, a, tokens) => this.giveBackShared(id, a, tokens, now),
    );
  }

  private async giveBackShared(tenantId: string, a: Allowance, tokens: number, now: number): Promise<void> {
    await this.o.store.db.transaction().execute(async (trx) => {
      const state = await lockBucket(trx, tenantId, a.burst, now);
      const next = giveBack(state, now, a.rate, a.burst, tokens);
      await trx.updateTable('quota_buckets').set({ tokens: next.tokens, updated_at: next.updatedAt }).where('tenant_id', '=', tenantId).execute();
    });
  }

  /** Returns every unused lease (on shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const now = this.o.clock.now();
    await returnAllLeases(
      this.allowances,
      () => true,
      (id, a, tokens) => this.giveBackShared(id, a, tokens, now),
    );
  }
}
/** The tenant's bucket row, created full on first use, locked until the transaction ends. */
async function lockBucket(trx: Transaction<Database>, tenantId: string, burst: number, now: number): Promise<BucketState> {
  await trx
    .insertInto('quota_buckets')
    .values({ tenant_id: tenantId, tokens: burst, updated_at: now })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  const row = await trx
    .updateTable('quota_buckets')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('tenant_id', '=', tenantId)
    .returning(['tokens', 'updated_at'])
    .executeTakeFirstOrThrow();
  return { tokens: Number(row.tokens), updatedAt: Number(row.updated_at) };
}
