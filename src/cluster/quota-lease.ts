/**
 * The shared token bucket's arithmetic, pure (explicit times, no I/O). The bucket has the same
 * semantics as the embedded one (ingest/token-bucket.ts): `rate` tokens per second up to `burst`,
 * a request larger than the burst passes when the bucket is full and leaves it in debt.
 * Ingest instances take tokens in leases (`want`, a slice of a second of rate) so that a request
 * rarely needs a round trip; leased tokens are prepaid, so the shared bucket never admits more
 * than its rate, however many instances there are.
 */
export interface BucketState {
  tokens: number;
  updatedAt: number;
}

export function refill(b: BucketState, now: number, rate: number, burst: number): number {
  const elapsed = Math.max(0, now - b.updatedAt);
  return Math.min(burst, b.tokens + (elapsed / 1000) * rate);
}

export type LeaseResult = { granted: number; state: BucketState } | { retryAfterSeconds: number; state: BucketState };

/**
 * Takes at least `need` tokens (refused unless min(need, burst) are there) and up to `want`
 * if the bucket holds them.
 */
export function lease(b: BucketState, now: number, rate: number, burst: number, need: number, want: number): LeaseResult {
  const available = refill(b, now, rate, burst);
  const required = Math.min(need, burst);
  const at = Math.max(now, b.updatedAt);
  if (available < required) {
    return { retryAfterSeconds: Math.max(1, Math.ceil((required - available) / rate)), state: { tokens: available, updatedAt: at } };
  }
  const granted = Math.max(need, Math.min(want, available));
  return { granted, state: { tokens: available - granted, updatedAt: at } };
}

/** Gives unused leased tokens back (never above the burst). */
export function giveBack(b: BucketState, now: number, rate: number, burst: number, tokens: number): BucketState {
  return { tokens: Math.min(burst, refill(b, now, rate, burst) + tokens), updatedAt: Math.max(now, b.updatedAt) };
}

/** How many tokens an instance leases at once: `leaseMs` of rate, at least what it needs, at most the burst. */
export function leaseSize(rate: number, burst: number, leaseMs: number, need: number): number {
  return Math.max(need, Math.min(burst, Math.ceil((rate * leaseMs) / 1000)));
}
