/**
 * Enforces daily volume quotas in front of the rate quota (any QuotaGate: the embedded buckets or
 * the distributed shared ones). Each instance leases chunks of today's quota from the shared
 * counter (daily-quota-service.ts), so a request usually spends from its local lease; see
 * daily-quota.ts for the margin.
 */
import type { Tenant } from '../auth/tenants.js';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { isKeelError } from '../core/errors.js';
import type { QuotaGate } from '../ingest/quotas.js';
import type { Logger } from '../telemetry/logger.js';
import { dayOf, overDailyQuota } from './daily-quota.js';
import { returnAllLeases, returnIdleLeases } from '../core/leased-tokens.js';
import type { DailyQuotaService } from './daily-quota-service.js';

declare module '../core/bus.js' {
  interface BusEvents {
    /** A tenant's daily quota changed through this process: caches drop it at once. */
    'capacity.daily_quota_changed': { tenant: string };
  }
}

interface Allowance {
  day: number;
  tokens: number;
  lastUsed: number;
  /** Refused until then (a precheck answers 429 without a round trip). */
  refusedUntil: number;
  used: number;
  queue: Promise<unknown>;
}

/** How long a tenant's quota is cached: a change through another instance applies within this. */
const QUOTA_CACHE_MS = 2_000;
const IDLE_RETURN_MS = 1_000;
const REFUSED_CACHE_MS = 1_000;

export class DailyQuotaGate implements QuotaGate {
  private readonly quotas = new Map<string, { value: number | null; at: number }>();
  private readonly allowances = new Map<string, Allowance>();
  private readonly timer: NodeJS.Timeout;
  private degraded = false;

  constructor(
    private readonly inner: QuotaGate,
    private readonly o: { service: DailyQuotaService; clock: Clock; logger: Logger; bus?: Bus },
  ) {
    o.bus?.on('capacity.daily_quota_changed', (e) => this.invalidate(e.tenant));
    this.timer = setInterval(() => void this.returnIdle(), IDLE_RETURN_MS);
    this.timer.unref();
  }

  /** Forget the cached quota of a tenant (after a change through this process). */
  invalidate(tenant: string): void {
    this.quotas.delete(tenant);
    const a = this.allowances.get(tenant);
    if (a) a.refusedUntil = 0;
  }

  private async quotaOf(tenant: string): Promise<number | null> {
    const now = this.o.clock.now();
    const c = this.quotas.get(tenant);
    if (c && now - c.at < QUOTA_CACHE_MS) return c.value;
    try {
      const value = await this.o.service.get(tenant);
      this.quotas.set(tenant, { value, at: now });
      return value;
    } catch (err) {
      this.o.logger.warn({ err }, 'cannot read daily quotas; using the last known');
      return c?.value ?? null;
    }
  }

  private allowance(tenant: string, now: number): Allowance {
    const day = dayOf(now);
    let a = this.allowances.get(tenant);
    if (!a || a.day !== day) {
      // A new day: yesterday's lease is spent (its counter row stays yesterday's).
      a = { day, tokens: 0, lastUsed: now, refusedUntil: 0, used: 0, queue: a?.queue ?? Promise.resolve() };
      this.allowances.set(tenant, a);
    }
    return a;
  }

  async precheck(tenant: Tenant): Promise<void> {
    await this.inner.precheck(tenant);
    const now = this.o.clock.now();
    const a = this.allowances.get(tenant.id);
    if (a && a.day === dayOf(now) && a.tokens <= 0 && now < a.refusedUntil) {
      const q = this.quotas.get(tenant.id)?.value;
      if (q !== null && q !== undefined) throw overDailyQuota(tenant.id, q, a.used, 0, now);
    }
  }

  async take(tenant: Tenant, n: number): Promise<void> {
    const quota = await this.quotaOf(tenant.id);
    if (quota === null) return this.inner.take(tenant, n);
    const now = this.o.clock.now();
    const a = this.allowance(tenant.id, now);
    a.lastUsed = now;
    if (a.tokens >= n) a.tokens -= n;
    else {
      const turn = a.queue.then(() => this.takeShared(tenant.id, a, quota, n));
      a.queue = turn.catch(() => undefined);
      await turn;
    }
    try {
      await this.inner.take(tenant, n);
    } catch (e) {
      this.giveLocal(tenant.id, n);
      throw e;
    }
  }

  private async takeShared(tenant: string, a: Allowance, quota: number, n: number): Promise<void> {
    if (a.tokens >= n) {
      a.tokens -= n;
      return;
    }
    const now = this.o.clock.now();
    const need = n - Math.max(0, a.tokens);
    let r;
    try {
      r = await this.o.service.lease(tenant, quota, need, now);
      if (this.degraded) this.o.logger.info('daily quotas reachable again');
      this.degraded = false;
    } catch (err) {
      if (isKeelError(err)) throw err;
      if (!this.degraded) this.o.logger.warn({ err }, 'daily quotas unreachable; admitting without counting until the state store returns');
      this.degraded = true;
      return;
    }
    a.used = r.used;
    if ('refused' in r) {
      a.refusedUntil = now + REFUSED_CACHE_MS;
      throw overDailyQuota(tenant, quota, r.used, n, now);
    }
    a.tokens += r.granted - n;
  }

  private giveLocal(tenant: string, n: number): void {
    const now = this.o.clock.now();
    const a = this.allowances.get(tenant);
    if (a && a.day === dayOf(now)) a.tokens += n;
  }

  refund(tenant: Tenant, n: number): void {
    this.inner.refund(tenant, n);
    if (this.quotas.get(tenant.id)?.value !== null) this.giveLocal(tenant.id, n);
  }

  private async returnIdle(): Promise<void> {
    const now = this.o.clock.now();
    await returnIdleLeases(
      this.allowances,
      now,
      IDLE_RETURN_MS,
      (a) => a.day === dayOf(now),
      (id, a, tokens) => this.o.service.giveBack(id, a.day, tokens),
    );
  }

  /** Gives every unused lease back (on shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const now = this.o.clock.now();
    await returnAllLeases(
      this.allowances,
      (a) => a.day === dayOf(now),
      (id, a, tokens) => this.o.service.giveBack(id, a.day, tokens),
    );
  }
}
