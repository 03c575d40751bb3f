import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

/**
 * The event log: the durable, ordered record of every accepted batch. Ingest appends to it and
 * answers 202 only once `append` resolves; processors read it from a position they commit
 * together with their results. Two adapters implement it: SQLite (embedded, one partition) and
 * NATS JetStream (distributed, one subject per partition). Nothing outside `log/` knows which.
 */
export interface AppendBatch {
  tenant: string;
  /** Accepted events as NDJSON, each line ending in "\n". */
  data: Uint8Array;
  count: number;
  /** Smallest and largest event time in ms. */
  minTs: number;
  maxTs: number;
  /** When Keel received the request (ms); events without `ts` take this time. */
  receivedAt: number;
  /** Remember the answer under this key so a retried request gets it back and stores nothing. */
  idempotency?: IdempotencyRecord;
}

/** What an append may ask of its caller (kept out of the batch, which may cross a thread). */
export interface AppendOptions {
  /**
   * sha256 of the request body, asked for only when an append without `idempotency` ends with
   * its outcome unknown: the log then records an Idempotency-Key for what it may have stored.
   */
  hashBody?: () => string;
}

export interface IdempotencyRecord {
  key: string;
  /** sha256 of the request body, to refuse a key reused for a different request. */
  bodyHash: string;
  /** The JSON answer to give a retry. */
  response: string;
}

export type AppendResult = { kind: 'appended'; partition: number; position: number } | { kind: 'duplicate'; response: string; bodyHash: string };

export interface LogBatch {
  partition: number;
  position: number;
  tenant: string;
  receivedAt: number;
  count: number;
  minTs: number;
  maxTs: number;
  /** The events as NDJSON; empty when the subscriber asked for headers only (see `bytes`). */
  data: Uint8Array;
  /** Size of the batch's NDJSON in bytes, when `data` was not delivered. */
  bytes?: number;
  /**
   * The id its writer gave this batch (or chunk of one), on logs that can store one batch twice:
   * JetStream's deduplication has gaps while a stream changes leader, and both copies carry the
   * same id. Consumers count an id once (processing/counted-batches.ts).
   */
  id?: string;
}

export interface ReadOptions {
  maxBatches?: number;
  /** Stop after this many bytes of data (at least one batch is returned). */
  maxBytes?: number;
  /** Batch headers only (`data` empty, `bytes` set): for processors that only count. */
  headersOnly?: boolean;
  /**
   * Data only for batches of the tenants this accepts, headers for the others (the embedded log;
   * the distributed log reads all or nothing per consumer and ignores it).
   */
  dataFor?: (tenant: string) => boolean;
}

export interface TenantReadOptions extends ReadOptions {
  /** Only batches that may hold events at or after this time (ms). */
  fromTs?: number;
  /** Only batches that may hold events before this time (ms). */
  toTs?: number;
}

export interface ConsumerState {
  name: string;
  partition: number;
  position: number;
  /** Events appended after the committed position. */
  lagEvents: number;
}

export interface LogStats {
  partitions: number;
  batches: number;
  events: number;
  /** Set when `events` is an estimate (JetStream counts messages, not events). */
  eventsEstimated?: boolean;
  bytes: number;
  /**
   * Bytes the batches take on disk where the log knows it (the embedded log: compacted segments
   * hold a fraction of `bytes`); undefined where it does not.
   */
  diskBytes?: number;
  /** Of `bytes`, what is still stored as received (waiting for compaction). */
  uncompactedBytes?: number;
  /** Highest position per partition (0 when empty). */
  lastPositions: number[];
  consumers: ConsumerState[];
}

export interface LogHealth {
  writable: boolean;
  /** Why appends are refused right now (disk or lag over limit, writer down), if they are. */
  overloaded?: { reason: string; retryAfterSeconds: number };
}

/** Batches handed to one consumer; acknowledged once their results are committed. */
export interface LogDelivery {
  readonly batches: LogBatch[];
  /**
   * Called inside the processing transaction before anything is written: throws when this
   * process may no longer commit for the partition (another worker took it over).
   */
  fence?(db: Kysely<Database> | Transaction<Database>): Promise<void>;
  /** The results are committed: the log may hand out what follows. */
  ack(): Promise<void>;
  /** Processing failed: deliver these batches again after delayMs. */
  retry(delayMs: number): void;
  /** Still processing: postpone redelivery to another consumer. */
  working(): void;
}

/**
 * A consumer's share of one partition, delivered by the log (JetStream durable consumers): among
 * all processes subscribed to the same consumer, one at a time processes a given partition; when
 * it dies another takes the partition over from the committed position.
 */
export interface LogSubscription {
  /** The next delivery, or undefined when none came within maxWaitMs. Throws while the log is unreachable. */
  next(maxWaitMs: number): Promise<LogDelivery | undefined>;
  /** Whether this process holds the partition now (logs that share partitions among workers). */
  owned?(): boolean;
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /**
   * The subscriber does not read `data` (it counts events and bytes): the log may send headers
   * only. A function is asked again before each (re)subscription, so a processor that needs data
   * only sometimes (the SLO aggregator, once an SLO exists) switches as it goes.
   */
  headersOnly?: boolean | (() => boolean);
}

export interface EventLog {
  readonly partitions: number;
  append(batch: AppendBatch, options?: AppendOptions): Promise<AppendResult>;
  /** Looks up a remembered answer without appending. */
  findIdempotent(tenant: string, key: string): Promise<{ response: string; bodyHash: string } | undefined>;
  /** Batches of a partition with position > after, in order. */
  read(partition: number, after: number, options?: ReadOptions): Promise<LogBatch[]>;
  /**
   * Batches of one tenant with position > after, across partitions, in position order. Positions
   * are one sequence for the whole log (SQLite's one partition, JetStream's stream sequence), so a
   * read that returned up to position P covered every partition up to P (the SLO backfill relies on it).
   */
  readTenant(tenant: string, after: number, options?: TenantReadOptions): Promise<LogBatch[]>;
  /** Records that `consumer` has processed everything up to `position`; retention keeps what follows. */
  commit(consumer: string, partition: number, position: number): Promise<void>;
  committed(consumer: string, partition: number): Promise<number>;
  stats(): Promise<LogStats>;
  /**
   * When retention has removed batches: the arrival time (ms) of the oldest batch still held, so
   * every batch that arrived from then on is readable (retention removes the oldest first).
   * Undefined while nothing was ever removed. `keel verify counts` compares only that range.
   */
  prunedBefore(): Promise<number | undefined>;
  health(): LogHealth;
  /**
   * Logs that deliver batches themselves (JetStream) implement this; processors then subscribe
   * instead of reading. `committed` reads the consumer's committed position (from the state store).
   */
  subscribe?(consumer: string, partition: number, committed: () => Promise<number>, options?: SubscribeOptions): Promise<LogSubscription>;
  /** A processor stops here: let other processes take its partitions over at once. */
  releasePartitions?(consumer: string): Promise<void>;
  close(): Promise<void>;
}

/** Splits stored NDJSON back into event texts, skipping blank lines. */
export function* eventLines(data: Uint8Array): Generator<string> {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl);
    pos = nl + 1;
    if (line.trim().length > 0) yield line;
  }
}
