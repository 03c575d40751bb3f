/**
 * What a processor is and what running one gives back: the contract between the processors
 * (SLO aggregator, usage meter) and the two runners (processor.ts for the embedded log,
 * subscribed-runner.ts for JetStream). Types only, so both runners import it without a cycle.
 */
import type { Transaction } from 'kysely';
import type { LogBatch } from '../log/event-log.js';
import type { Database } from '../store/schema.js';

export interface BatchProcessor<P = unknown> {
  /** Consumer name: its positions, its retention hold on the log, its lag metric. */
  readonly name: string;
  /**
   * Optional CPU work on the batches before the transaction opens (e.g. the SLO fold), so the
   * transaction (and, on SQLite, the one state connection) is held only for the writes. A runner
   * that calls it passes the result to `process`; a runner that does not (or a result the
   * processor finds stale) makes `process` do the work itself, so this stays backward compatible.
   */
  prepare?(batches: LogBatch[]): Promise<P>;
  /** Folds the batches (all of one partition, in order, none seen before) into state inside trx. */
  process(trx: Transaction<Database>, batches: LogBatch[], prepared?: P): Promise<void>;
  /** Runs after the transaction committed (publish bus events, refresh caches). */
  afterCommit?: ((batches: LogBatch[]) => void) | undefined;
  /**
   * False for processors that never read `batch.data` (they count `count` and `bytes`): the
   * distributed log then sends them batch headers only, not every event again. Default true.
   */
  readsData?: boolean;
  /**
   * Asked before each read by the embedded runner: false lets it read headers only this time
   * (e.g. the SLO aggregator while no SLO is defined). A processor that then meets a batch whose
   * data it needs throws `ReadAgain`, and the runner reads the same batches again with data.
   */
  needsData?(): boolean;
  /**
   * Asked per batch by the embedded runner when `needsData` is true: false reads that batch's
   * header only (the SLO aggregator for a tenant without SLOs, while Keel's own SLOs need
   * keel-system's events). The same `ReadAgain` rule applies.
   */
  needsDataFor?(tenant: string): boolean;
}

export interface RunnerOptions {
  /** Batches read per transaction. */
  maxBatches?: number;
  maxBytes?: number;
  /** Wait between polls when the log has nothing new (ms). */
  idleMs?: number | undefined;
  /**
   * Once caught up, wait this long before reading what arrives next (ms; default 0), so one
   * transaction covers several appends: each commit is an fsync on the state store, which on
   * SQLite also holds the event loop. Bounds commits per second at the cost of that much delay.
   */
  gatherMs?: number;
  /** The same for the JetStream runner (default SUBSCRIBED_GATHER_MS). */
  subscribedGatherMs?: number;
  /** JetStream runner: a held partition that does not advance for this long with a backlog is restarted (default 15 s). */
  stallMs?: number;
}

export interface ProcessorRunner {
  /** Position committed per partition. */
  positions(): Map<number, number>;
  /** Resolves once everything appended before the call has been processed. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}
