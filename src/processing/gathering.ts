/** What the processor runners share: the gathering pause, the read-again signal, draining. */
import type { EventLog } from '../log/event-log.js';

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

/**
 * Resolves once every partition's committed position reached what the log held when it was called
 * (`drain()` of both runners); `poll` runs before each wait (the embedded runner wakes its loops).
 */
export async function drainPositions(log: EventLog, positions: Map<number, number>, name: string, timeoutMs: number, pollMs: number, poll?: () => void): Promise<void> {
  const stats = await log.stats();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = stats.lastPositions.every((target, p) => (positions.get(p) ?? 0) >= target);
    if (done) return;
    if (Date.now() > deadline) throw new Error(`processor ${name} did not catch up within ${timeoutMs} ms`);
    poll?.();
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
