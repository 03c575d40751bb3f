/**
 * The progress watchdog of the subscribing runner with two partitions: one stuck in a pull while
 * the log holds more, the other advancing all the time. The watchdog reads the log's ends as soon
 * as ANY held partition stands still (not only when all do): under steady load on the other
 * partitions, a stuck one is still found and started again from its committed position.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import type { CoreContext } from '../../src/module/context.js';
import type { EventLog, LogBatch, LogDelivery, LogStats, LogSubscription } from '../../src/log/event-log.js';
import { readPosition } from '../../src/processing/positions.js';
import { runProcessor, type ProcessorRunner } from '../../src/processing/processor.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const STUCK_END = 3;

/**
 * Partition 0: its first subscription's pull never returns, later ones deliver 1..3. Partition 1:
 * a new batch every 10 ms, for as long as the runner pulls.
 */
class TwoPartitionLog {
  readonly subscribes = [0, 0];
  readonly last = [STUCK_END, 0];
  /** Batches partition 1 had committed when partition 0 was subscribed again. */
  movingAtRestart: number | undefined;
  committedOnMoving = 0;
  /** Reads of the log's ends that fail (counted down). */
  failStats = 0;

  private delivery(batches: LogBatch[]): LogDelivery {
    return { batches, ack: async () => undefined, retry: () => undefined, working: () => undefined };
  }

  private batch(partition: number, position: number): LogBatch {
    return { partition, position, tenant: 't', receivedAt: 0, count: 1, minTs: 0, maxTs: 0, data: new Uint8Array() };
  }

  asEventLog(): EventLog {
    const subscribe = async (_consumer: string, p: number, committed: () => Promise<number>): Promise<LogSubscription> => {
      const n = ++this.subscribes[p]!;
      if (p === 0 && n > 1) this.movingAtRestart ??= this.committedOnMoving;
      let from = await committed();
      const next = async (ms: number): Promise<LogDelivery | undefined> => {
        if (p === 0 && n === 1) return new Promise<never>(() => undefined);
        if (p === 0) {
          if (from >= STUCK_END) return new Promise((r) => setTimeout(() => r(undefined), ms));
          const batches = [];
          while (from < STUCK_END) batches.push(this.batch(0, ++from));
          return this.delivery(batches);
        }
        await new Promise((r) => setTimeout(r, 10));
        this.last[1] = ++from;
        return this.delivery([this.batch(1, from)]);
      };
      return { next, owned: () => true, close: async () => undefined };
    };
    return {
      partitions: 2,
      subscribe,
      stats: async () => {
        if (this.failStats > 0) {
          this.failStats--;
          throw new Error('log unreachable');
        }
        return { lastPositions: [...this.last] } as unknown as LogStats;
      },
      releasePartitions: async () => undefined,
    } as unknown as EventLog;
  }
}

let ts: TestStore;
let runner: ProcessorRunner | undefined;
beforeEach(async () => {
  ts = await openTestStore('sqlite');
});
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  await ts.close();
});

/** Runs the probe processor on `log`; returns what it logs and partition 0's processed positions. */
function start(log: TwoPartitionLog): { lines: Record<string, unknown>[]; processed: number[] } {
  // What the runner logs, one JSON line per call (pino writes each line to `write`).
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const ctx = {
    log: log.asEventLog(),
    store: ts.store,
    logger,
    metrics: new KeelMetrics(),
    clock: new FakeClock('2026-02-01T00:00:00Z'),
    bus: new Bus(),
    roles: { ingest: false, worker: true, evaluator: false, api: false },
  } as unknown as CoreContext;
  const processed: number[] = [];
  runner = runProcessor(
    ctx,
    {
      name: 'probe',
      async process(_trx, batches) {
        for (const b of batches) {
          if (b.partition === 0) processed.push(b.position);
          else log.committedOnMoving++;
        }
      },
    },
    { idleMs: 20, subscribedGatherMs: 0, stallMs: 300 },
  );
  return { lines, processed };
}

/** Until partition 0 committed what the log holds (shorter in a mutation run: KEEL_TEST_WAIT_MS). */
async function untilRestarted(log: TwoPartitionLog): Promise<void> {
  const deadline = Date.now() + Number(process.env.KEEL_TEST_WAIT_MS ?? 10_000);
  while ((await readPosition(ts.store.db, 'probe', 0)) !== STUCK_END) {
    if (Date.now() > deadline) throw new Error(`partition 0 was not restarted; partition 1 committed ${log.committedOnMoving} batches meanwhile`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const RESTART = 'partition makes no progress; starting its subscription again from the committed position';

it('restarts the stuck partition while another partition keeps advancing, and leaves the advancing one alone', async () => {
  const log = new TwoPartitionLog();
  const { lines, processed } = start(log);
  await untilRestarted(log);

  expect(processed).toEqual([1, 2, 3]);
  expect(log.subscribes).toEqual([2, 1]);
  // Partition 1 was advancing while partition 0 stood still (a batch every 10 ms; the restart
  // comes after at least 300 ms).
  expect(log.movingAtRestart).toBeGreaterThanOrEqual(5);
  const restarts = lines.filter((l) => l.msg === RESTART);
  expect(restarts).toHaveLength(1);
  expect(restarts[0]).toMatchObject({ level: 'warn', processor: 'probe', partition: 0, position: 0, logEnd: STUCK_END });
  expect(String(restarts[0]!.reason)).toMatch(/^a pull has not returned for \d s$/);
});

it('says once that it cannot read the log’s ends while that fails, and once that it can again, in the round that restarts the stuck partition', async () => {
  const log = new TwoPartitionLog();
  log.failStats = 3;
  const { lines } = start(log);
  await untilRestarted(log);
  const watchdog = lines
    .filter((l) => String(l.msg).startsWith('progress watchdog') || l.msg === RESTART)
    .map((l) => [l.level, l.msg, l.processor, (l.err as { message?: string } | undefined)?.message]);
  expect(watchdog).toEqual([
    ['warn', 'progress watchdog cannot read the log; partitions are not checked for stalls until it can', 'probe', 'log unreachable'],
    // The round that reads the ends again finds partition 0 stalled since before the failures.
    ['warn', RESTART, 'probe', undefined],
    ['info', 'progress watchdog reads the log again', 'probe', undefined],
  ]);
  expect(log.failStats).toBe(0);
});
