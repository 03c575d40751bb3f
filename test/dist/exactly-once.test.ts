/**
 * Exactly-once on JetStream, the two ways a batch comes to a consumer again: the SAME message
 * redelivered after its results were committed (its acknowledgement was lost), and a COPY of it
 * the stream stored at a new position, arriving in a later delivery. Each is caught by one of two
 * mechanisms (the committed position; the ids of counted batches), so each test takes the other
 * mechanism out of play: the redelivery arrives after the ids were pruned, the copy arrives after
 * its original was committed and acknowledged.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { usageProcessor } from '../../src/capacity/usage-processor.js';
import { UsageService } from '../../src/capacity/usage-service.js';
import { Bus } from '../../src/core/bus.js';
import { FakeClock, type Clock } from '../../src/core/clock.js';
import type { CoreContext } from '../../src/module/context.js';
import type { AppendBatch, EventLog, LogDelivery, LogSubscription } from '../../src/log/event-log.js';
import { HDR_REPUBLISHED } from '../../src/log/jetstream/batch-message.js';
import type { JetStreamEventLog } from '../../src/log/jetstream/jetstream-event-log.js';
import { KEEP_MS } from '../../src/processing/counted-batches.js';
import { readPosition } from '../../src/processing/positions.js';
import { runProcessor, type ProcessorRunner } from '../../src/processing/processor.js';
import { openPostgresStore, type Store } from '../../src/store/store.js';
import { VerifyCountsService } from '../../src/verify/verify-counts.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { cleanup, openTestLog, uniqueNames } from '../helpers/dist.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';

function batch(tenant: string, count: number): AppendBatch {
  const data = Buffer.from(Array.from({ length: count }, (_, i) => `${JSON.stringify({ i })}\n`).join(''));
  return { tenant, data, count, minTs: 1_000, maxTs: 2_000, receivedAt: Date.now() };
}

async function waitFor<T>(what: string, fn: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every delivery the runner got, by position, and whether its acknowledgement went through. */
interface Tap {
  deliveries: { positions: number[]; acked: boolean }[];
  /** Acknowledgements to drop (the first N): as if each was lost on its way to NATS. */
  dropAcks: number;
}

/** The log, with subscriptions whose deliveries are recorded (and whose acks may be lost). */
function tapped(log: JetStreamEventLog, tap: Tap): EventLog {
  const wrap = (sub: LogSubscription): LogSubscription => ({
    close: () => sub.close(),
    next: async (ms) => {
      const d = await sub.next(ms);
      if (!d) return d;
      const entry = { positions: d.batches.map((b) => b.position), acked: false };
      tap.deliveries.push(entry);
      const delivery: LogDelivery = {
        batches: d.batches,
        ...(d.fence ? { fence: (db) => d.fence!(db) } : {}),
        retry: (ms2) => d.retry(ms2),
        working: () => d.working(),
        ack: async () => {
          if (tap.dropAcks > 0) {
            tap.dropAcks--;
            return;
          }
          await d.ack();
          entry.acked = true;
        },
      };
      return delivery;
    },
  });
  return new Proxy(log, {
    get(target, prop) {
      if (prop === 'subscribe') return async (...args: Parameters<NonNullable<EventLog['subscribe']>>) => wrap(await target.subscribe(...args));
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function context(log: EventLog, store: Store, clock: Clock): CoreContext {
  const partial: Pick<CoreContext, 'log' | 'store' | 'logger' | 'clock' | 'bus' | 'roles'> = {
    log,
    store,
    logger: createLogger(process.env.KEEL_TEST_LOG ?? 'silent'),
    clock,
    bus: new Bus(),
    roles: { ingest: false, worker: true, evaluator: false, api: false },
  };
  // The runner uses only these members of the context.
  return partial as CoreContext;
}

async function counted(store: Store, tenant: string): Promise<number> {
  const totals = await new UsageService(store).totals({ from: 0, to: Date.now() + 3_600_000 });
  return totals.find((t) => t.tenant === tenant)?.events ?? 0;
}

/**
 * `keel verify counts`' own check, in process: the usage counters equal what the stream holds
 * (a copy counted once on both sides), over buckets that really hold counts.
 */
async function expectVerified(log: EventLog, store: Store): Promise<void> {
  const r = await new VerifyCountsService({ log, store, usageRetentionMs: 30 * 86_400_000 }).run(0, Date.now() + 60_000);
  expect(r.usage.differences).toEqual([]);
  expect(r.usage.buckets).toBeGreaterThan(0);
}

const opened: { runner?: ProcessorRunner; log?: JetStreamEventLog; store?: Store; names: ReturnType<typeof uniqueNames> }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.runner?.stop();
    await o.log?.close();
    await o.store?.close();
    await cleanup(o.names);
  }
});

async function setUp(label: string, duplicateWindowMs = 120_000) {
  const names = uniqueNames(label);
  const o: (typeof opened)[number] = { names };
  opened.push(o);
  o.store = await openPostgresStore(PG_URL, { schema: names.schema, poolSize: 4 });
  o.log = await openTestLog(names, o.store, { partitions: 1, duplicateWindowMs });
  return o as Required<typeof o>;
}

describe('exactly-once on JetStream', () => {
  it('skips a committed batch that is redelivered to the same consumer after its acknowledgement was lost', async () => {
    const o = await setUp('redeliver');
    // The redelivery comes after the counted ids were pruned (a worker stalled between commit
    // and ack for longer than KEEP_MS): only the committed position can recognise it.
    const clock = new FakeClock(Date.now());
    const tap: Tap = { deliveries: [], dropAcks: 1 };
    const a = await o.log.append(batch('again', 3));
    if (a.kind !== 'appended') throw new Error('not appended');
    o.runner = runProcessor(context(tapped(o.log, tap), o.store, clock), usageProcessor());
    await waitFor('the batch committed', () => readPosition(o.store.db, 'usage', 0), (p) => p === a.position);
    expect(await counted(o.store, 'again')).toBe(3);
    clock.advance(KEEP_MS + 5 * 60_000);
    // JetStream hands the unacknowledged message to the same consumer again after ack_wait.
    const redelivered = await waitFor('the redelivery acknowledged', () => tap.deliveries.filter((d) => d.positions.includes(a.position)), (ds) => ds.length >= 2 && ds[1]!.acked);
    expect(redelivered[0]!.acked).toBe(false);
    expect(await counted(o.store, 'again')).toBe(3);
    // A batch after it is counted once, and the position moves on.
    const b = await o.log.append(batch('again', 2));
    if (b.kind !== 'appended') throw new Error('not appended');
    await waitFor('the next batch committed', () => readPosition(o.store.db, 'usage', 0), (p) => p === b.position);
    expect(await counted(o.store, 'again')).toBe(5);
    await expectVerified(o.log, o.store);
  });

  it('counts once a copy of a batch that arrives in a later delivery than its original', async () => {
    // A 1 s duplicate window lets this test store a copy the way a stream leader change does.
    const o = await setUp('latecopy', 1_000);
    const tap: Tap = { deliveries: [], dropAcks: 0 };
    const a = await o.log.append(batch('copied', 2));
    if (a.kind !== 'appended') throw new Error('not appended');
    o.runner = runProcessor(context(tapped(o.log, tap), o.store, new FakeClock(Date.now())), usageProcessor());
    await waitFor('the original acknowledged', () => tap.deliveries.filter((d) => d.acked && d.positions.includes(a.position)), (ds) => ds.length === 1);
    expect(await counted(o.store, 'copied')).toBe(2);
    await new Promise((res) => setTimeout(res, 1_500));
    const nc = await connect({ servers: NATS_URL });
    let copyAt: number;
    try {
      const stored = await (await jetstreamManager(nc)).streams.getMessage(o.names.stream, { seq: a.position });
      const id = stored!.header!.get('Nats-Msg-Id');
      expect(id).not.toBe('');
      // Marked as Keel marks every message it publishes again (the only way a copy is stored).
      stored!.header!.set(HDR_REPUBLISHED, '1');
      const copy = await jetstream(nc).publish(stored!.subject, stored!.data, { msgID: id, headers: stored!.header! });
      expect(copy.duplicate).toBe(false);
      copyAt = copy.seq;
    } finally {
      await nc.close();
    }
    const b = await o.log.append(batch('copied', 1));
    if (b.kind !== 'appended') throw new Error('not appended');
    await waitFor('the copy and the next batch committed', () => readPosition(o.store.db, 'usage', 0), (p) => p === b.position);
    // The copy came in a delivery of its own, after the original's: only its id can tell.
    const withCopy = tap.deliveries.find((d) => d.positions.includes(copyAt))!;
    expect(withCopy.positions).not.toContain(a.position);
    expect(await counted(o.store, 'copied')).toBe(3);
    await expectVerified(o.log, o.store);
  });
});
