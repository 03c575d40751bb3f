/**
 * Per-tenant ingest quotas (events per second with a burst). The embedded default keeps the
 * buckets in memory; the distributed ingest role replaces this with shared buckets.
 */
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import type { Tenant } from '../auth/tenants.js';
import { TokenBucket } from './token-bucket.js';

export interface QuotaDefaults {
  eventsPerSecond: number;
  burst: number;
}

export interface QuotaGate {
  /** Throws 429 when the tenant has no tokens at all, before a body is parsed. */
  precheck(tenant: Tenant): void | Promise<void>;
  /** Takes n events from the tenant's quota or throws 429 with Retry-After (shared buckets may need a round trip). */
  take(tenant: Tenant, n: number): void | Promise<void>;
  /** Gives back events that were taken but not stored. */
  refund(tenant: Tenant, n: number): void;
}

export class LocalQuotas implements QuotaGate {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly defaults: QuotaDefaults,
    private readonly clock: Clock,
  ) {}

  private bucket(t: Tenant): TokenBucket {
    const rate = t.eventsPerSecond ?? this.defaults.eventsPerSecond;
    const burst = t.burst ?? this.defaults.burst;
    let b = this.buckets.get(t.id);
    if (!b) {
      b = new TokenBucket(rate, burst, this.clock.now());
      this.buckets.set(t.id, b);
    } else if (b.rate !== rate || b.burst !== burst) {
      b.rate = rate;
      b.burst = burst;
    }
    return b;
  }

  precheck(tenant: Tenant): void {
    if (tenant.paused) throw paused(tenant);
    const r = this.bucket(tenant).empty(this.clock.now());
    if (r.empty) throw overQuota(tenant, r.retryAfterSeconds, this.bucket(tenant));
  }

  take(tenant: Tenant, n: number): void {
    const b = this.bucket(tenant);
    const r = b.take(n, this.clock.now());
    if (!r.ok) throw overQuota(tenant, r.retryAfterSeconds, b);
  }

  refund(tenant: Tenant, n: number): void {
    this.bucket(tenant).give(n, this.clock.now());
  }
}

export function overQuota(t: Tenant, retryAfterSeconds: number, b: { rate: number; burst: number }): KeelError {
  return new KeelError('rate_limited', `tenant "${t.id}" is over its ingest quota of ${b.rate} events/s (burst ${b.burst}); retry after ${retryAfterSeconds} s`, { retryAfterSeconds });
}

export function paused(t: Tenant): KeelError {
  return new KeelError('rate_limited', `ingest for tenant "${t.id}" is paused by an operator`, { retryAfterSeconds: 60 });
}
