/** Messages between SqliteEventLog (main thread) and its writer thread. */
import type { AppendBatch, AppendResult } from '../event-log.js';

export interface WriterOptions {
  path: string;
  /** Wait this long after the first waiting append before committing, to gather more (0 = none). */
  groupCommitDelayMs: number;
  /** Roll to a new segment file past this size (default 64 MiB). */
  segmentBytes?: number;
  /** Compact sealed segments in the background (compaction.ts); default true. */
  compress?: boolean;
  /** Seal the active segment once idle this long (ms) and holding at least sealMinBytes. */
  sealIdleMs?: number;
  sealMinBytes?: number;
  /** Compact whatever the load once this many NDJSON bytes wait (compaction-gate.ts; default 4 GiB). */
  compactionMaxBacklogBytes?: number;
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
  /** Bytes the batches take in segment files: compacted frames, or NDJSON until compacted. */
  diskBytes: number;
  /** NDJSON bytes of batches not compacted yet. */
  uncompactedBytes: number;
}

export interface SweepResult {
  deletedBatches: number;
  deletedBytes: number;
  deletedIdempotency: number;
  /** Retention wanted to delete more but a consumer has not committed past it. */
  heldByConsumer: boolean;
}

export type WriterResponse =
  { id: number; ok: true; result: AppendResult | SweepResult | null; totals: WriterTotals; groupSize?: number } | { id: number; ok: false; error: string; totals?: WriterTotals };

/**
 * One segment compacted (NDJSON `bytes` now stored in `stored` bytes), or why it was not; or
 * compaction began or stopped waiting for a saturated Keel (`share`: of the cores used, `wait`:
 * thread-seconds per second waiting for a CPU; the compactor's own aside).
 */
export type CompactionEvent =
  | { op: 'compaction'; ok: true; segment: number; batches: number; bytes: number; stored: number; cpuMs: number }
  | { op: 'compaction'; ok: false; segment: number; error: string }
  | { op: 'compactionGate'; deferred: boolean; share: number | null; wait: number | null; uncompactedBytes: number };

export type WriterEvent = { op: 'ready'; totals: WriterTotals } | { op: 'commitGroup'; requests: number; events: number; bytes: number } | (CompactionEvent & { totals: WriterTotals });
