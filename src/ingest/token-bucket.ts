/**
 * A token bucket: `rate` tokens per second up to `burst`. A request larger than the burst is let
 * through when the bucket is full and leaves it in debt, so a big batch is slowed, never refused
 * forever. Pure: the caller passes the time.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    public rate: number,
    public burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
      this.updatedAt = now;
    }
  }

  /** Takes n tokens, or returns the seconds to wait until they could be taken. */
  take(n: number, now: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    this.refill(now);
    const need = Math.min(n, this.burst);
    if (this.tokens >= need) {
      this.tokens -= n;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((need - this.tokens) / this.rate)) };
  }

  /** Whether anything at all could be taken now (a cheap check before parsing a body). */
  empty(now: number): { empty: false } | { empty: true; retryAfterSeconds: number } {
    this.refill(now);
    if (this.tokens > 0) return { empty: false };
    return { empty: true, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.rate)) };
  }

  give(n: number, now: number): void {
    this.refill(now);
    this.tokens = Math.min(this.burst, this.tokens + n);
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }
}
