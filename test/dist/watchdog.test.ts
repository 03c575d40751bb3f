/**
 * The progress watchdog of the JetStream runner, on a real PostgreSQL store, with the fault the
 * SIGSTOP test cannot force at will: a pull that never returns while the partition's backlog
 * waits (after a stall, one partition made no progress for ~50 s with nothing logged). The
 * watchdog must log the partition and the reason and start the subscription again, after which
 * the backlog is processed; its gauge shows the stall meanwhile.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoreContext } from '../../src/module/context.js';
import { systemClock } from '../../src/core/clock.js';
import type { EventLog, LogBatch, LogDelivery, LogStats, LogSubscription } from '../../src/log/event-log.js';
import { runSubscribedProcessor } from '../../src/processing/subscribed-runner.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

let store: TestStore;

beforeAll(async () => {
  store = await openTestStore('postgres');
});
afterAll(async () => {
  await store?.close();
});

const batch = (position: number): LogBatch => ({
  partition: 0,
  position,
  tenant: 'acme',
  receivedAt: Date.now(),
  count: 10,
  minTs: 0,
  maxTs: 0,
  data: new Uint8Array(0),
  bytes: 100,
  id: `b${position}.0`,
});

/** A one-partition log holding batches 1-3, whose first subscription's pull never returns. */
function logWithStuckPull(): { log: EventLog; subscriptions: () => number } {
  let subscriptions = 0;
  const subscribe = async (): Promise<LogSubscription> => {
    const n = ++subscriptions;
    let delivered = false;
    return {
      owned: () => true,
      next: async (maxWaitMs: number): Promise<LogDelivery | undefined> => {
        if (n === 1) return new Promise<never>(() => undefined); // stuck: never answers
        if (delivered) {
          await new Promise((r) => setTimeout(r, Math.min(maxWaitMs, 50)));
          return undefined;
        }
        delivered = true;
        return { batches: [batch(1), batch(2), batch(3)], ack: async () => undefined, retry: () => undefined, working: () => undefined };
      },
      close: async () => undefined,
    };
  };
  const stats = async (): Promise<LogStats> => ({ partitions: 1, batches: 3, events: 30, eventsEstimated: false, bytes: 300, lastPositions: [3], consumers: [] });
  const log = { partitions: 1, subscribe, stats } as unknown as EventLog;
  return { log, subscriptions: () => subscriptions };
}

describe('progress watchdog', () => {
  it('restarts a partition whose pull never returns while it has a backlog, says why, and the backlog is processed', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const metrics = new KeelMetrics();
    const { log, subscriptions } = logWithStuckPull();
    const processed: number[] = [];
    const ctx = { log, store: store.store, logger, clock: systemClock, metrics } as unknown as CoreContext;
    const runner = runSubscribedProcessor(
      ctx,
      { name: 'watchdog_test', process: async (_trx, batches) => void processed.push(...batches.map((b) => b.position)) },
      { stallMs: 600, subscribedGatherMs: 0 },
    );
    try {
      const deadline = Date.now() + 30_000;
      while ((runner.positions().get(0) ?? 0) < 3) {
        if (Date.now() > deadline) throw new Error(`partition 0 never advanced (subscriptions: ${subscriptions()}, log: ${lines.join('')})`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(processed).toEqual([1, 2, 3]);
      expect(subscriptions()).toBe(2);
      const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'partition makes no progress; starting its subscription again from the committed position');
      expect(warning).toMatchObject({ processor: 'watchdog_test', partition: 0, position: 0, logEnd: 3 });
      expect(String(warning!.reason)).toMatch(/a pull has not returned for \d+ s/);
    } finally {
      await runner.stop();
    }
  }, 60_000);

  it('logs once when it cannot read the log (it used to fail silently), and again when it can', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const { log } = logWithStuckPull();
    let broken = true;
    const stats = log.stats.bind(log);
    (log as { stats: () => Promise<LogStats> }).stats = async () => {
      if (broken) throw new Error('stream info: timeout');
      return stats();
    };
    const ctx = { log, store: store.store, logger, clock: systemClock, metrics: new KeelMetrics() } as unknown as CoreContext;
    const runner = runSubscribedProcessor(ctx, { name: 'watchdog_blind', process: async () => undefined }, { stallMs: 750, subscribedGatherMs: 0 });
    const messages = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const blind = 'progress watchdog cannot read the log; partitions are not checked for stalls until it can';
    try {
      const deadline = Date.now() + 30_000;
      while (!messages().some((m) => m.msg === blind)) {
        if (Date.now() > deadline) throw new Error(`no warning logged: ${lines.join('')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Several more rounds fail: still one line.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(messages().filter((m) => m.msg === blind)).toHaveLength(1);
      expect(messages().find((m) => m.msg === blind)).toMatchObject({ processor: 'watchdog_blind', err: { message: 'stream info: timeout' } });
      broken = false;
      while (!messages().some((m) => m.msg === 'progress watchdog reads the log again')) {
        if (Date.now() > deadline) throw new Error(`no recovery logged: ${lines.join('')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await runner.stop();
    }
  }, 60_000);
});
