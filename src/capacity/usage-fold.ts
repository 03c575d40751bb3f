/**
 * Usage arithmetic, pure: batches folded into events and bytes per tenant per minute of arrival,
 * and the bucketing of minutes into the step a query asks for.
 */
import type { LogBatch } from '../log/event-log.js';

export const MINUTE_MS = 60_000;
export const STEPS = { minute: MINUTE_MS, hour: 3_600_000, day: 86_400_000 } as const;
export type Step = keyof typeof STEPS;

export interface UsageRow {
  tenant: string;
  minute: number;
  partition: number;
  events: number;
  bytes: number;
}

export function minuteOf(ms: number): number {
  return ms - (((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

/** One row per (tenant, minute of arrival, partition) of the batches. */
export function foldUsage(batches: readonly LogBatch[]): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  for (const b of batches) {
    const minute = minuteOf(b.receivedAt);
    const key = `${b.tenant}\u0000${minute}\u0000${b.partition}`;
    let r = rows.get(key);
    if (!r) {
      r = { tenant: b.tenant, minute, partition: b.partition, events: 0, bytes: 0 };
      rows.set(key, r);
    }
    r.events += b.count;
    r.bytes += b.bytes ?? b.data.byteLength;
  }
  return [...rows.values()];
}

/** Buckets a query would return, to refuse one that asks for too many. */
export function bucketCount(from: number, to: number, step: Step): number {
  const size = STEPS[step];
  return Math.ceil((to - from) / size);
}
