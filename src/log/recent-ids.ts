/**
 * For readers of a log that may hold one batch twice (see LogBatch.id): drops a batch whose id this
 * reader returned recently. Copies are written within a publish timeout of each other, so a
 * window of receipt times bounds the memory. Counting consumers use processing/counted-batches.ts,
 * which survives restarts; this is for reads that start afresh (backfill, the events API).
 */
import type { LogBatch } from './event-log.js';

const WINDOW_MS = 30 * 60_000;

/** Ids at most `windowMs` of receipt apart that a reader has already returned: copies to drop. */
export class RecentIds {
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs = WINDOW_MS) {}

  /** The batches not seen before (in this reader's recent past). */
  filter(batches: LogBatch[]): LogBatch[] {
    const out: LogBatch[] = [];
    for (const b of batches) {
      if (b.id === undefined) {
        out.push(b);
        continue;
      }
      if (this.seen.has(b.id)) continue;
      this.seen.set(b.id, b.receivedAt);
      out.push(b);
    }
    // Insertion order follows the log, so the oldest ids are first.
    const newest = batches.reduce((m, b) => Math.max(m, b.receivedAt), 0);
    for (const [id, at] of this.seen) {
      if (at >= newest - this.windowMs) break;
      this.seen.delete(id);
    }
    return out;
  }
}

