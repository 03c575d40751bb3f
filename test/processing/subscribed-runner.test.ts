/**
 * The subscribing runner (JetStream's) against a scripted log on a real store: every delivery,
 * redelivery, copy and failure the log can produce is scripted, so each exactly-once rule is
 * checked on its own: the committed position skips what was committed (ids or not), ids skip
 * copies at new positions (in the same or a later delivery) until they are pruned, a failed
 * transaction commits nothing and is delivered again after a growing pause, drain/stop keep
 * their promises, a lost acknowledgement or a failed release is logged without harm, a slow
 * transaction keeps its delivery, the gathering pause, and the progress watchdog (a stuck pull or
 * a consumer that delivers nothing while the log holds more is restarted from the committed
 * position, a partition held elsewhere or caught up is left alone).
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import type { CoreContext } from '../../src/module/context.js';
import type { EventLog, LogBatch, LogDelivery, LogStats, LogSubscription, SubscribeOptions } from '../../src/log/event-log.js';
import { KEEP_MS } from '../../src/processing/counted-batches.js';
import { readPosition } from '../../src/processing/positions.js';
import { ReadAgain, runProcessor, type BatchProcessor, type ProcessorRunner, type RunnerOptions } from '../../src/processing/processor.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const batch = (position: number, id?: string, partition = 0): LogBatch => ({
  partition,
  position,
  tenant: 't',
  receivedAt: 0,
  count: 1,
  minTs: 0,
  maxTs: 0,
  data: new Uint8Array(),
  ...(id ? { id } : {}),
});

/** A log whose deliveries the test scripts, recording what the runner does with them. */
class ScriptedLog {
  readonly queues: LogDelivery[][];
  readonly last: number[];
  acks: number[][] = [];
  retries: { positions: number[]; delayMs: number }[] = [];
  headersOnly: (boolean | undefined)[] = [];
  subscribes = 0;
  failSubscribes = 0;
  failNexts = 0;
  closed = 0;
  released: string[] = [];
  fence: ((p: number) => void) | undefined;
  /** What `owned()` answers (undefined: the subscription has no `owned`). */
  owned: boolean | undefined = true;
  /** Pulls that never return (counted down as pulls find them). */
  stuck = 0;
  /** Subscriptions that never deliver anything (counted down as subscriptions are made). */
  deaf = 0;
  /** Deliveries made without a fence (logs whose partitions are not shared). */
  fenceless = false;
  failAcks = 0;
  /** 'missing': the log has no releasePartitions; 'fails': it throws. */
  release: 'ok' | 'missing' | 'fails' = 'ok';
  /** The committed position the runner gave each subscription. */
  committedAt: number[] = [];
  /** How long each pull was allowed to wait (ms). */
  pullWaits: number[] = [];
  workings = 0;
  private wake: (() => void) | undefined;

  constructor(readonly partitions = 1) {
    this.queues = Array.from({ length: partitions }, () => []);
    this.last = Array.from({ length: partitions }, () => 0);
  }

  deliver(batches: LogBatch[], partition = 0): void {
    const positions = batches.map((b) => b.position);
    const d: LogDelivery = {
      batches,
      ...(this.fenceless ? {} : { fence: async () => this.fence?.(partition) }),
      ack: async () => {
        if (this.failAcks > 0) {
          this.failAcks--;
          throw new Error('ack lost');
        }
        this.acks.push(positions);
      },
      retry: (delayMs) => {
        this.retries.push({ positions, delayMs });
        this.queues[partition]!.unshift(d);
        this.wake?.();
      },
      working: () => {
        this.workings++;
      },
    };
    this.queues[partition]!.push(d);
    this.last[partition] = Math.max(this.last[partition]!, ...positions);
    this.wake?.();
  }

  asEventLog(): EventLog {
    const self = this;
    return {
      partitions: this.partitions,
      async subscribe(_consumer: string, partition: number, committed: () => Promise<number>, options: SubscribeOptions = {}): Promise<LogSubscription> {
        self.subscribes++;
        if (self.failSubscribes > 0) {
          self.failSubscribes--;
          throw new Error('log unreachable');
        }
        self.committedAt.push(await committed());
        self.headersOnly.push(typeof options.headersOnly === 'function' ? options.headersOnly() : options.headersOnly);
        const deaf = self.deaf > 0;
        if (deaf) self.deaf--;
        return {
          next: async (ms) => {
            self.pullWaits.push(ms);
            if (self.failNexts > 0) {
              self.failNexts--;
              throw new Error('pull failed');
            }
            const q = self.queues[partition]!;
            if (q.length === 0 || deaf)
              await new Promise<void>((r) => {
                const t = setTimeout(r, ms);
                if (!deaf)
                  self.wake = () => {
                    clearTimeout(t);
                    r();
                  };
              });
            if (self.stuck > 0) {
              self.stuck--;
              return new Promise<never>(() => undefined);
            }
            return deaf ? undefined : q.shift();
          },
          ...(self.owned === undefined ? {} : { owned: () => self.owned! }),
          close: async () => {
            self.closed++;
          },
        };
      },
      stats: async () => ({ lastPositions: [...self.last] }) as unknown as LogStats,
      ...(self.release === 'missing'
        ? {}
        : {
            releasePartitions: async (consumer: string) => {
              if (self.release === 'fails') throw new Error('release refused');
              self.released.push(consumer);
            },
          }),
    } as unknown as EventLog;
  }
}

// Shorter in a mutation run (KEEL_TEST_WAIT_MS, scripts/mutation.mjs): a mutant that stops
// progress then fails in seconds.
async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = Number(process.env.KEEL_TEST_WAIT_MS ?? 10_000)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let ts: TestStore;
let log: ScriptedLog;
let runner: ProcessorRunner | undefined;
let processed: number[][];
let after: number[][];
let fail: (Error | undefined)[];
/** What the runner logged (pino JSON lines). */
let lines: Record<string, unknown>[];
let metrics: KeelMetrics;
const clock = new FakeClock('2026-02-01T00:00:00Z');

function probe(over: Partial<BatchProcessor> = {}): BatchProcessor {
  return {
    name: 'probe',
    async process(trx, batches) {
      const e = fail.shift();
      if (e) throw e;
      // Written in the transaction, so a rolled-back one leaves no trace.
      await trx
        .insertInto('counted_batches')
        .values(batches.map((b) => ({ consumer: 'probe-results', id: `p${b.position}`, position: b.position, counted_at: 0 })))
        .execute();
      processed.push(batches.map((b) => b.position));
    },
    afterCommit: (batches) => after.push(batches.map((b) => b.position)),
    ...over,
  };
}

function start(processor = probe(), partitions = 1, options: RunnerOptions = {}): ProcessorRunner {
  log = log.partitions === partitions ? log : new ScriptedLog(partitions);
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  metrics = new KeelMetrics();
  const ctx = { log: log.asEventLog(), store: ts.store, logger, metrics, clock, bus: new Bus(), roles: { ingest: false, worker: true, evaluator: false, api: false } } as unknown as CoreContext;
  runner = runProcessor(ctx, processor, { idleMs: 20, subscribedGatherMs: 0, ...options });
  return runner;
}

/** The log lines with this message, as { level, processor, partition, … } without pino's own fields. */
const logged = (msg: string) =>
  lines
    .filter((l) => l.msg === msg)
    .map(({ time: _t, pid: _p, hostname: _h, service: _s, msg: _m, err, ...rest }): Record<string, unknown> => ({ ...rest, ...(err ? { err: (err as { message: string }).message } : {}) }));

const position = (p = 0) => readPosition(ts.store.db, 'probe', p);
const results = async () => (await ts.store.db.selectFrom('counted_batches').select('position').where('consumer', '=', 'probe-results').orderBy('position').execute()).map((r) => Number(r.position));

beforeEach(async () => {
  ts = await openTestStore('sqlite');
  log = new ScriptedLog();
  processed = [];
  after = [];
  fail = [];
  lines = [];
});
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  await ts.close();
});

describe('the subscribing runner', () => {
  it('skips a redelivered committed batch by its position, also without ids', async () => {
    start();
    log.deliver([batch(1), batch(2)]);
    await until('first commit', async () => (await position()) === 2);
    log.deliver([batch(1), batch(2)]);
    log.deliver([batch(2), batch(3)]);
    await until('three acks', () => log.acks.length === 3);
    expect(processed).toEqual([[1, 2], [3]]);
    expect(after).toEqual([[1, 2], [3]]);
    expect(await results()).toEqual([1, 2, 3]);
    expect(await position()).toBe(3);
    expect(log.acks).toEqual([
      [1, 2],
      [1, 2],
      [2, 3],
    ]);
    expect(runner!.positions()).toEqual(new Map([[0, 3]]));
  });

  it('commits the highest position of a delivery whose batches arrive out of order (a redelivery after newer ones)', async () => {
    // Seen in the restart fault test: after nats-server restarted, a delivery held the newer
    // batches first and a redelivered older one last; the position written was the older one's,
    // so the counters stood for batches past the committed position and verify counts differed.
    start();
    log.deliver([batch(1), batch(2)]);
    await until('first commit', async () => (await position()) === 2);
    log.deliver([batch(5), batch(6), batch(3), batch(4)]);
    await until('two acks', () => log.acks.length === 2);
    expect(processed).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ]);
    expect(await results()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await position()).toBe(6);
    log.deliver([batch(4), batch(7)]);
    await until('three acks', () => log.acks.length === 3);
    expect(processed).toEqual([[1, 2], [3, 4, 5, 6], [7]]);
    expect(await position()).toBe(7);
  });

  it('skips a copy of a counted batch at a new position, in a later delivery or the same one, and moves the position past it', async () => {
    start();
    log.deliver([batch(1, 'a'), batch(2, 'b')]);
    await until('first commit', async () => (await position()) === 2);
    log.deliver([batch(3, 'a'), batch(4, 'c')]);
    log.deliver([batch(5, 'd'), batch(6, 'd'), batch(7)]);
    log.deliver([batch(8, 'b')]);
    await until('four acks', () => log.acks.length === 4);
    expect(processed).toEqual([[1, 2], [4], [5, 7]]);
    expect(after).toEqual([[1, 2], [4], [5, 7]]);
    expect(await position()).toBe(8);
  });

  it('forgets counted ids after KEEP_MS, pruning at most once a minute', async () => {
    start();
    const counted = async () => (await ts.store.db.selectFrom('counted_batches').select('id').where('consumer', '=', 'probe').orderBy('id').execute()).map((r) => r.id);
    const step = async (ms: number, position: number, id: string) => {
      clock.advance(ms);
      log.deliver([batch(position, id)]);
      await until(id, async () => (await readPosition(ts.store.db, 'probe', 0)) === position);
      return counted();
    };
    expect(await step(0, 1, 'a')).toEqual(['a']);
    // a is exactly KEEP_MS old when b prunes: kept.
    expect(await step(KEEP_MS, 2, 'b')).toEqual(['a', 'b']);
    // Older than KEEP_MS now, but the last prune was less than a minute ago, then exactly one.
    expect(await step(30_000, 3, 'c')).toEqual(['a', 'b', 'c']);
    expect(await step(30_000, 4, 'd')).toEqual(['a', 'b', 'c', 'd']);
    expect(await step(1, 5, 'e')).toEqual(['b', 'c', 'd', 'e']);
    expect(processed).toEqual([[1], [2], [3], [4], [5]]);
    // A forgotten id counts again (copies come within minutes, never KEEP_MS apart).
    expect(await step(2 * KEEP_MS, 6, 'a')).toEqual(['a']);
    expect(processed).toEqual([[1], [2], [3], [4], [5], [6]]);
  });

  it('commits nothing from a failed transaction and has it delivered again after a growing pause', async () => {
    fail = [new Error('boom'), new Error('boom again')];
    start();
    log.deliver([batch(1), batch(2)]);
    await until('committed after two failures', async () => (await position()) === 2);
    expect(log.retries).toEqual([
      { positions: [1, 2], delayMs: 100 },
      { positions: [1, 2], delayMs: 200 },
    ]);
    expect(processed).toEqual([[1, 2]]);
    expect(await results()).toEqual([1, 2]);
    await until('ack', () => log.acks.length === 1);
    // Success resets the pause.
    fail = [new Error('once more')];
    log.deliver([batch(3)]);
    await until('3', async () => (await position()) === 3);
    expect(log.retries[2]).toEqual({ positions: [3], delayMs: 100 });
    expect(logged('processing failed; the batch will be delivered again')).toEqual([
      { level: 'error', processor: 'probe', partition: 0, retryInMs: 100, err: 'boom' },
      { level: 'error', processor: 'probe', partition: 0, retryInMs: 200, err: 'boom again' },
      { level: 'error', processor: 'probe', partition: 0, retryInMs: 100, err: 'once more' },
    ]);
  });

  it('refuses the commit when the fence says the partition is no longer this worker’s', async () => {
    let refuse = 1;
    log.fence = () => {
      if (refuse-- > 0) throw new Error('partition taken over');
    };
    start();
    log.deliver([batch(1)]);
    await until('1', async () => (await position()) === 1);
    expect(log.retries).toEqual([{ positions: [1], delayMs: 100 }]);
    expect(processed).toEqual([[1]]);
  });

  it('reads again at once when a processor needs the data of a headers-only delivery', async () => {
    fail = [new ReadAgain()];
    start(probe({ readsData: false }));
    log.deliver([batch(1)]);
    await until('1', async () => (await position()) === 1);
    expect(log.retries).toEqual([{ positions: [1], delayMs: 0 }]);
    expect(log.headersOnly).toEqual([true]);
  });

  it('asks for headers only when the processor reads no data, or needs none now', async () => {
    start(probe({ needsData: () => false }));
    await until('subscribed', () => log.headersOnly.length === 1);
    expect(log.headersOnly).toEqual([true]);
    await runner!.stop();
    log = new ScriptedLog();
    start(probe({ needsData: () => true }));
    await until('subscribed', () => log.headersOnly.length === 1);
    expect(log.headersOnly).toEqual([false]);
    await runner!.stop();
    log = new ScriptedLog();
    start(probe());
    await until('subscribed', () => log.headersOnly.length === 1);
    expect(log.headersOnly).toEqual([false]);
  });

  it('subscribes again after the log was unreachable or a pull failed', async () => {
    log.failSubscribes = 1;
    log.failNexts = 1;
    start();
    log.deliver([batch(1)]);
    await until('1', async () => (await position()) === 1);
    expect(log.subscribes).toBe(3);
    expect(log.closed).toBe(1);
    expect(logged('cannot subscribe to the event log; retrying')).toEqual([{ level: 'warn', processor: 'probe', partition: 0, err: 'log unreachable' }]);
    expect(logged('reading the event log failed; subscribing again')).toEqual([{ level: 'warn', processor: 'probe', partition: 0, err: 'pull failed' }]);
  });

  it('starts from the committed position and keeps partitions apart', async () => {
    start(probe(), 2);
    log.deliver([batch(1, undefined, 0)], 0);
    log.deliver([batch(2, undefined, 1)], 1);
    await runner!.drain(10_000);
    expect(runner!.positions()).toEqual(
      new Map([
        [0, 1],
        [1, 2],
      ]),
    );
    expect([await position(0), await position(1)]).toEqual([1, 2]);
    await runner!.stop();
    // A new runner starts from what was committed.
    processed = [];
    start(probe(), 2);
    await until('positions read', () => runner!.positions().get(1) === 2 && runner!.positions().get(0) === 1);
    log.deliver([batch(2, undefined, 1), batch(3, undefined, 1)], 1);
    await runner!.drain(10_000);
    expect(processed).toEqual([[3]]);
    // Each subscription was told where to start: nothing committed, then 1 and 2.
    expect([...log.committedAt].sort()).toEqual([0, 0, 1, 2]);
  });

  it('drains once everything appended before the call is committed, and says when it does not', async () => {
    start();
    log.deliver([batch(1)]);
    await runner!.drain(10_000);
    expect(await position()).toBe(1);
    expect(await results()).toEqual([1]);
    log.last[0] = 5; // appended, never delivered
    await expect(runner!.drain(60)).rejects.toThrow('processor probe did not catch up within 60 ms');
  });

  it('stops: closes its subscriptions and hands its partitions back', async () => {
    start();
    await until('subscribed', () => log.subscribes === 1);
    await runner!.stop();
    runner = undefined;
    expect(log.closed).toBe(1);
    expect(log.released).toEqual(['probe']);
  });

  it('stops on a log that cannot hand partitions back, and logs a refused hand-back', async () => {
    log.release = 'missing';
    start();
    await until('subscribed', () => log.subscribes === 1);
    await runner!.stop();
    log = new ScriptedLog();
    log.release = 'fails';
    start();
    await until('subscribed', () => log.subscribes === 1);
    await runner!.stop();
    runner = undefined;
    expect(logged('releasing partitions failed')).toEqual([{ level: 'warn', err: 'release refused' }]);
  });

  it('pulls wait idleMs for a delivery (2 s unless configured)', async () => {
    start();
    await until('a pull', () => log.pullWaits.length > 0);
    expect(log.pullWaits[0]).toBe(20);
    await runner!.stop();
    log = new ScriptedLog();
    start(probe(), 1, { idleMs: undefined });
    await until('a pull', () => log.pullWaits.length > 0);
    expect(log.pullWaits[0]).toBe(2_000);
  });

  it('commits deliveries that carry no fence, and processors without afterCommit', async () => {
    log.fenceless = true;
    start(probe({ afterCommit: undefined }));
    log.deliver([batch(1)]);
    await until('1', async () => (await position()) === 1);
    log.deliver([batch(2)]);
    await until('2', async () => (await position()) === 2);
    expect(processed).toEqual([[1], [2]]);
    expect(after).toEqual([]);
  });

  it('logs a lost acknowledgement and goes on; the redelivered batch is then skipped', async () => {
    log.failAcks = 1;
    start();
    log.deliver([batch(1, 'a')]);
    await until('1', async () => (await position()) === 1);
    // JetStream delivers the unacknowledged batch again, then the next one.
    log.deliver([batch(1, 'a')]);
    log.deliver([batch(2, 'b')]);
    await until('2 acks', () => log.acks.length === 2);
    expect(processed).toEqual([[1], [2]]);
    expect(logged('acknowledging a batch failed')).toEqual([{ level: 'warn', processor: 'probe', partition: 0, err: 'ack lost' }]);
  });

  it('keeps a delivery its own while a slow transaction runs', async () => {
    start(
      probe({
        async process(_trx, batches) {
          // Longer than the 2 s after which the log would hand the delivery to another worker.
          await new Promise((r) => setTimeout(r, 2_300));
          processed.push(batches.map((b) => b.position));
        },
      }),
    );
    log.deliver([batch(1)]);
    await until('1', async () => (await position()) === 1);
    expect(log.workings).toBe(1);
  });

  it('once caught up, waits the gathering pause before the next pull, unless the delivery was full; stop ends the pause', async () => {
    start(probe(), 1, { subscribedGatherMs: 3_600_000, maxBatches: 2 });
    // A full delivery (maxBatches): no pause.
    log.deliver([batch(1), batch(2)]);
    await until('2', async () => (await position()) === 2);
    log.deliver([batch(3)]);
    await until('3', async () => (await position()) === 3);
    // Not full: the runner pauses (an hour here) before it pulls again.
    log.deliver([batch(4)]);
    await new Promise((r) => setTimeout(r, 500));
    expect(processed).toEqual([[1, 2], [3]]);
    await runner!.stop();
    runner = undefined;
    // The default: 32 batches make a full delivery.
    log = new ScriptedLog();
    processed = [];
    start(probe(), 1, { subscribedGatherMs: 3_600_000 });
    log.deliver([batch(5)]);
    await until('5', async () => (await position()) === 5);
    log.deliver([batch(6)]);
    await new Promise((r) => setTimeout(r, 500));
    expect(processed).toEqual([[5]]);
  });
});

describe('the progress watchdog of the subscribing runner', () => {
  const restarts = () => logged('partition makes no progress; starting its subscription again from the committed position');
  const stalledGauge = async () => (await metrics.partitionStalled.get()).values.map((v) => [v.labels, v.value]);

  it('restarts a partition whose pull never returns while the log holds more, from the committed position, saying why', async () => {
    start(probe(), 1, { stallMs: 300 });
    log.deliver([batch(1)]);
    await until('1', async () => (await position()) === 1);
    // The gauge as the watchdog set it in the round that restarted the partition.
    let gaugeAtRestart: Promise<[unknown, number][]> | undefined;
    const push = lines.push.bind(lines);
    lines.push = (...items) => {
      if (items.some((l) => String(l.msg).startsWith('partition makes no progress'))) gaugeAtRestart ??= stalledGauge() as Promise<[unknown, number][]>;
      return push(...items);
    };
    log.stuck = 1;
    log.deliver([batch(2), batch(3)]);
    await until('3', async () => (await position()) === 3);
    expect(processed).toEqual([[1], [2, 3]]);
    expect(log.subscribes).toBe(2);
    expect(log.closed).toBe(1);
    expect(log.committedAt).toEqual([0, 1]);
    const [warning, ...more] = restarts();
    expect(more).toEqual([]);
    expect(warning).toMatchObject({ level: 'warn', processor: 'probe', partition: 0, position: 1, logEnd: 3 });
    expect(warning!.stalledForMs).toBeGreaterThanOrEqual(300);
    expect(String(warning!.reason)).toMatch(/^a pull has not returned for \d s$/);
    const [labels, seconds] = (await gaugeAtRestart!)[0]!;
    expect(labels).toEqual({ consumer: 'probe', partition: '0' });
    expect(seconds).toBeGreaterThanOrEqual(0.3);
    expect(seconds).toBeLessThan(60);
    // Caught up again: the gauge goes back to 0 and nothing is restarted any more.
    await until('the gauge at 0', async () => (await stalledGauge())[0]![1] === 0);
    await new Promise((r) => setTimeout(r, 800));
    expect(log.subscribes).toBe(2);
    expect(restarts()).toHaveLength(1);
  });

  it('restarts a partition whose consumer delivers nothing while the log holds more', async () => {
    log.deaf = 1;
    start(probe(), 1, { stallMs: 300 });
    log.deliver([batch(1), batch(2), batch(3)]);
    await until('3', async () => (await position()) === 3);
    expect(processed).toEqual([[1, 2, 3]]);
    expect(log.subscribes).toBe(2);
    expect(restarts()).toEqual([expect.objectContaining({ processor: 'probe', partition: 0, position: 0, logEnd: 3, reason: 'deliveries brought nothing while the log holds up to position 3' })]);
  });

  it('leaves alone a partition another worker holds, and one that is caught up', async () => {
    log.owned = false;
    log.deaf = 1;
    start(probe(), 1, { stallMs: 300 });
    log.last[0] = 3; // appended, but this worker does not hold the partition
    await new Promise((r) => setTimeout(r, 800));
    expect(log.subscribes).toBe(1);
    expect(await stalledGauge()).toEqual([[{ consumer: 'probe', partition: '0' }, 0]]);
    await runner!.stop();
    log = new ScriptedLog();
    start(probe(), 1, { stallMs: 300 });
    log.deliver([batch(1)]);
    await until('1', async () => (await position()) === 1);
    await new Promise((r) => setTimeout(r, 800));
    expect(log.subscribes).toBe(1);
    expect(restarts()).toEqual([]);
  });
});
