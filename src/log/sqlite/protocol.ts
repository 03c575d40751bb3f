/** Messages between SqliteEventLog (main thread) and its writer thread. */
import type { AppendBatch, AppendResult } from '../event-log.js';

export interface WriterOptions {
  path: string;
  /** Wait this long after the first waiting append before committing, to gather more (0 = none). */
  groupCommitDelayMs: number;
  /** Roll to a new segment file past this size (default 256 MiB). */
  segmentBytes?: number;
}

export type WriterRequest =
  | ({ op: 'append'; id: number } & AppendBatch)
  | { op: 'commit'; id: number; consumer: string; position: number; now: number }
  | { op: 'removeConsumer'; id: number; consumer: string }
  | { op: 'sweep'; id: number; now: number; maxAgeMs: number; maxBytes: number; idempotencyTtlMs: number }
  | { op: 'close'; id: number };

export interface WriterTotals {
  batches: number;
  bytes: number;
  lastPosition: number;
  eventsEnd: number;
}

export interface SweepResult {
  deletedBatches: number;
  deletedBytes: number;
  deletedIdempotency: number;
  /** Retention wanted to delete more but a consumer has not committed past it. */
  heldByConsumer: boolean;
}

export type WriterResponse =
  | { id: number; ok: true; result: AppendResult | SweepResult | null; totals: WriterTotals; groupSize?: number }
  | { id: number; ok: false; error: string; totals?: WriterTotals };

export type WriterEvent = { op: 'ready'; totals: WriterTotals } | { op: 'commitGroup'; requests: number; events: number; bytes: number };
