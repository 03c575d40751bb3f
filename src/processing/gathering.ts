/** What the processor runners share: the gathering pause and the read-again signal. */

/**
 * Once caught up, a runner waits this long (ms) after each transaction before reading what came
 * next, so one transaction covers several appends: processors committing per batch cost embedded
 * ingest a quarter of its throughput, and the distributed worker (one transaction per JetStream
 * delivery) two-fifths of its CPU (BENCHMARKS.md). Freshness pays at most this much.
 */
export const DEFAULT_GATHER_MS = 100;

/**
 * The same on JetStream, where each cycle also costs two pull requests and an acknowledgement per
 * partition and processor: with 8 partitions, 100 ms left the worker and PostgreSQL at 2.5 ms of
 * CPU per 1,000 events, 250 ms at 1.6 ms, and the 2-core bench went from ~160k to ~200k events/s.
 */
export const SUBSCRIBED_GATHER_MS = 250;

/** Thrown by a processor whose batches were read without data it turns out to need. */
export class ReadAgain extends Error {
  constructor() {
    super('batches must be read again with their data');
    this.name = 'ReadAgain';
  }
}
