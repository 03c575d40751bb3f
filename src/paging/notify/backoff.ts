/**
 * Retry delays for deliveries: exponential backoff with "equal jitter" (half fixed, half random),
 * so retries of many jobs failing together spread out instead of arriving in waves, while no
 * retry comes sooner than half its nominal delay. Pure: the random source is a parameter.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** Delay before retry number `attempt` (1 = the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(nominal / 2 + (nominal / 2) * random());
}
