/**
 * The JetStream event log against the NATS JetStream and PostgreSQL of this machine: appends are
 * acknowledged, split when large, deduplicated by message id, idempotent across a lost answer, and
 * processors on it count every batch exactly once, however deliveries are shared or repeated.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageProcessor } from '../../src/capacity/usage-processor.js';
import { UsageService } from '../../src/capacity/usage-service.js';
import { Bus } from '../../src/core/bus.js';
import { systemClock } from '../../src/core/clock.js';
import type { CoreContext } from '../../src/module/context.js';
import type { AppendBatch } from '../../src/log/event-log.js';
import { JetStreamEventLog } from '../../src/log/jetstream/jetstream-event-log.js';
import { idempotentBatchId } from '../../src/log/jetstream/idempotency.js';
import { PartitionLeases } from '../../src/log/jetstream/partition-leases.js';
import { partitionOf } from '../../src/log/jetstream/subjects.js';
import { readPosition, writePosition } from '../../src/processing/positions.js';
import { runProcessor } from '../../src/processing/processor.js';
import { readEvents } from '../../src/ingest/read-events.js';
import { openPostgresStore, type Store } from '../../src/store/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { cleanup, openTestLog, uniqueNames, type ClusterNames } from '../helpers/dist.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';

let names: ClusterNames;
let store: Store;
let log: JetStreamEventLog;

function batch(tenant: string, events: unknown[], extra: Partial<AppendBatch> = {}): AppendBatch {
  const data = Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  return { tenant, data, count: events.length, minTs: 1_000, maxTs: 2_000, receivedAt: Date.now(), ...extra };
}

async function streamMessagesOf(stream: string): Promise<number> {
  const nc = await connect({ servers: NATS_URL });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

async function streamMessages(): Promise<number> {
  const nc = await connect({ servers: NATS_URL });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(names.stream)).state.messages;
  } finally {
    await nc.close();
  }
}

function workerContext(l: JetStreamEventLog): CoreContext {
  const partial: Pick<CoreContext, 'log' | 'store' | 'logger' | 'clock' | 'bus' | 'roles'> = {
    log: l,
    store,
    logger: createLogger(process.env.KEEL_TEST_LOG ?? 'silent'),
    clock: systemClock,
    bus: new Bus(),
    roles: { ingest: false, worker: true, evaluator: false, api: false },
  };
  // The runner uses only these members of the context.
  return partial as CoreContext;
}

async function usageTotals(): Promise<Record<string, number>> {
  const totals = await new UsageService(store).totals({ from: 0, to: Date.now() + 3_600_000 });
  return Object.fromEntries(totals.map((t) => [t.tenant, t.events]));
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

async function waitFor<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, want?: unknown): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms${want === undefined ? '' : `, want ${JSON.stringify(want)}`}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  names = uniqueNames('log');
  store = await openPostgresStore(PG_URL, { schema: names.schema, poolSize: 6 });
  log = await openTestLog(names, store, { partitions: 4 });
});
afterAll(async () => {
  await log?.close();
  await store?.close();
  await cleanup(names);
});

describe('JetStream event log', () => {
  it('appends batches, reads partitions and one tenant across partitions in stream order', async () => {
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await log.append(batch(i % 3 === 0 ? 'beta' : 'acme', [{ i }, { i, k: 2 }])));
    expect(results.every((r) => r.kind === 'appended')).toBe(true);
    const positions = results.map((r) => (r.kind === 'appended' ? r.position : 0));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(new Set(results.map((r) => (r.kind === 'appended' ? r.partition : -1))).size).toBeGreaterThan(1);
    const beta = await log.readTenant('beta', 0);
    expect(beta.map((b) => JSON.parse(Buffer.from(b.data).toString().split('\n')[0]!).i)).toEqual([0, 3, 6, 9]);
    expect(beta.every((b) => b.tenant === 'beta' && b.count === 2)).toBe(true);
    const afterFirst = await log.readTenant('beta', beta[0]!.position);
    expect(afterFirst.length).toBe(3);
    let all = 0;
    for (let p = 0; p < log.partitions; p++) {
      const read = await log.read(p, 0);
      expect(read.every((b) => b.partition === p)).toBe(true);
      all += read.length;
    }
    expect(all).toBe(12);
    expect(await log.readTenant('beta', 0, { fromTs: 5_000 })).toEqual([]);
    const stats = await log.stats();
    expect(stats.batches).toBe(12);
    expect(Math.max(...stats.lastPositions)).toBe(Math.max(...positions));
  });

  it('splits a batch larger than a NATS message at event boundaries and keeps every event', async () => {
    const big = Array.from({ length: 12_000 }, (_, i) => ({ i, pad: 'x'.repeat(200) }));
    const b = batch('bulk', big);
    expect(b.data.byteLength).toBeGreaterThan(2 * 1024 * 1024);
    const before = await streamMessages();
    const r = await log.append(b);
    expect(r.kind).toBe('appended');
    const messages = (await streamMessages()) - before;
    expect(messages).toBeGreaterThanOrEqual(3);
    const stored = await log.readTenant('bulk', 0, { maxBatches: 100 });
    expect(stored.length).toBe(messages);
    expect(stored.reduce((s, x) => s + x.count, 0)).toBe(12_000);
    const text = stored.map((x) => Buffer.from(x.data).toString()).join('');
    expect(text).toBe(Buffer.from(b.data).toString());
  });

  it('answers a repeated Idempotency-Key from the state store and stores the batch once', async () => {
    const idem = { key: 'order-1', bodyHash: 'h1', response: '{"accepted":2,"rejected":0,"errors":[]}' };
    const first = await log.append(batch('idem', [{ a: 1 }, { a: 2 }], { idempotency: idem }));
    expect(first.kind).toBe('appended');
    const before = await streamMessages();
    const again = await log.append(batch('idem', [{ a: 1 }, { a: 2 }], { idempotency: idem }));
    expect(again).toEqual({ kind: 'duplicate', response: idem.response, bodyHash: 'h1' });
    const other = await log.append(batch('idem', [{ a: 3 }], { idempotency: { ...idem, bodyHash: 'h2' } }));
    expect(other).toMatchObject({ kind: 'duplicate', bodyHash: 'h1' });
    expect(await streamMessages()).toBe(before);
    expect(await log.findIdempotent('idem', 'order-1')).toEqual({ response: idem.response, bodyHash: 'h1' });
    // Another ingest instance (another connection) gives the same answer.
    const second = await openTestLog(names, store, { partitions: 4 });
    try {
      expect(await second.findIdempotent('idem', 'order-1')).toEqual({ response: idem.response, bodyHash: 'h1' });
    } finally {
      await second.close();
    }
  });

  it('stores nothing twice when the answer was lost after the publish (crash between ack and answer)', async () => {
    const idem = { key: 'lost-answer', bodyHash: 'h', response: '{"accepted":1,"rejected":0,"errors":[]}' };
    await log.append(batch('crash', [{ n: 1 }], { idempotency: idem }));
    // As if the instance died right after JetStream acknowledged: the answer was never recorded.
    await store.db.updateTable('ingest_idempotency').set({ response: null }).where('key', '=', 'lost-answer').execute();
    const before = await streamMessages();
    const retry = await log.append(batch('crash', [{ n: 1 }], { idempotency: idem }));
    expect(retry.kind).toBe('appended');
    expect(await streamMessages()).toBe(before);
    expect(await log.findIdempotent('crash', 'lost-answer')).toEqual({ response: idem.response, bodyHash: 'h' });
  });

  it('finds the interrupted attempt in the stream once JetStream forgot its message ids', async () => {
    const shortNames = uniqueNames('dup');
    const shortStore = await openPostgresStore(PG_URL, { schema: shortNames.schema, poolSize: 2 });
    const shortLog = await openTestLog(shortNames, shortStore, { partitions: 2, duplicateWindowMs: 1_000, publishTimeoutMs: 1_000 });
    try {
      const idem = { key: 'late-retry', bodyHash: 'h', response: '{"accepted":1,"rejected":0,"errors":[]}' };
      const first = await shortLog.append(batch('late', [{ n: 1 }], { idempotency: idem }));
      await shortStore.db.updateTable('ingest_idempotency').set({ response: null }).execute();
      await new Promise((r) => setTimeout(r, 2_500));
      const retry = await shortLog.append(batch('late', [{ n: 1 }], { idempotency: idem }));
      expect(retry).toEqual(first);
      expect((await shortLog.readTenant('late', 0)).length).toBe(1);
      expect(partitionOf('late', idempotentBatchId('late', 'late-retry'), 2)).toBe(first.kind === 'appended' ? first.partition : -1);
    } finally {
      await shortLog.close();
      await shortStore.close();
      await cleanup(shortNames);
    }
  });

  it('refuses an event limit larger than one message at start', async () => {
    await expect(openTestLog(names, store, { partitions: 4, maxEventBytes: 4 * 1024 * 1024 })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('exceeds what one NATS message holds'),
    });
  });
});

describe('processors on JetStream', () => {
  it('count every batch exactly once with two workers sharing the partitions, and when one stops', async () => {
    const expected: Record<string, number> = await usageTotals();
    const add = (t: string, n: number) => (expected[t] = (expected[t] ?? 0) + n);
    // What earlier tests appended counts too: the processor starts from the beginning of the stream.
    for (let p = 0; p < log.partitions; p++) for (const b of await log.read(p, 0, { maxBatches: 1000 })) add(b.tenant, b.count);
    const owners = async () =>
      (await store.db.selectFrom('partition_leases').select(['owner']).where('consumer', '=', 'usage').where('expires_at', '>', Date.now()).execute()).map((r) => r.owner);
    // A starts alone and takes every partition; B joins and A hands two over.
    const workerA = await openTestLog(names, store, { partitions: 4, workerId: 'worker-a' });
    const a = runProcessor(workerContext(workerA), usageProcessor());
    await waitFor('a holds every partition', owners, (o) => o.length === 4 && o.every((x) => x === 'worker-a'));
    const workerB = await openTestLog(names, store, { partitions: 4, workerId: 'worker-b' });
    const b = runProcessor(workerContext(workerB), usageProcessor());
    try {
      for (let i = 0; i < 40; i++) {
        const n = 1 + (i % 7);
        await log.append(batch(`w${i % 3}`, Array.from({ length: n }, (_, k) => ({ k }))));
        add(`w${i % 3}`, n);
      }
      await waitFor('usage after two workers', usageTotals, (t) => sameCounts(t, expected), 30_000, expected);
      // The two workers share the partitions out: two each.
      const split = await waitFor('partitions shared', owners, (o) => o.length === 4 && o.filter((x) => x === 'worker-a').length === 2);
      expect(split.filter((o) => o === 'worker-b').length).toBe(2);
      // Worker A stops; B carries on with every partition.
      await a.stop();
      await waitFor('b holds every partition', owners, (o) => o.length === 4 && o.every((x) => x === 'worker-b'));
      for (let i = 0; i < 20; i++) {
        await log.append(batch('after-stop', [{ i }]));
        add('after-stop', 1);
      }
      await waitFor('usage after one worker stopped', usageTotals, (t) => sameCounts(t, expected), 30_000, expected);
      // The usage processor gets headers only (it never reads the events): its byte counts still
      // equal the stored batches' sizes.
      let storedBytes = 0;
      for (let p = 0; p < log.partitions; p++) for (const x of await log.read(p, 0, { maxBatches: 1000 })) storedBytes += x.data.byteLength;
      const totals = await new UsageService(store).totals({ from: 0, to: Date.now() + 3_600_000 });
      expect(totals.reduce((sum, t) => sum + t.bytes, 0)).toBe(storedBytes);
      const nc = await connect({ servers: NATS_URL });
      try {
        const info = await (await jetstreamManager(nc)).consumers.info(names.stream, 'usage_p0');
        expect(info.config.headers_only).toBe(true);
      } finally {
        await nc.close();
      }
    } finally {
      await a.stop();
      await b.stop();
      await workerA.close();
      await workerB.close();
    }
  });

  it('starts a new owner after the committed position: a batch committed but never acknowledged is not counted again', async () => {
    const before = await usageTotals();
    const r = await log.append(batch('redelivered', [{ a: 1 }, { a: 2 }, { a: 3 }]));
    if (r.kind !== 'appended') throw new Error('not appended');
    // Commit the batch's results and position as a worker would, then "crash" before the ack.
    const [stored] = await log.read(r.partition, (await readPosition(store.db, 'usage', r.partition)) || 0, { maxBatches: 1000 }).then((bs) => bs.filter((x) => x.position === r.position));
    await store.db.transaction().execute(async (trx) => {
      await usageProcessor().process(trx, [stored!]);
      await writePosition(trx, 'usage', r.partition, r.position, Date.now());
    });
    const worker = await openTestLog(names, store, { partitions: 4 });
    const runner = runProcessor(workerContext(worker), usageProcessor());
    try {
      await runner.drain(30_000);
      const after = await usageTotals();
      expect(after.redelivered).toBe(3);
      expect((after.redelivered ?? 0) - (before.redelivered ?? 0)).toBe(3);
    } finally {
      await runner.stop();
      await worker.close();
    }
  });

  it('counts once a batch the stream stored twice under one id (dedup gap of a leader change), and reads it once', async () => {
    // A 1 s duplicate window lets this test store a copy the way a stream leader change does.
    const copyNames = uniqueNames('copy');
    const copyStore = await openPostgresStore(PG_URL, { schema: copyNames.schema, poolSize: 3 });
    const copyLog = await openTestLog(copyNames, copyStore, { partitions: 1, duplicateWindowMs: 1_000 });
    const nc = await connect({ servers: NATS_URL });
    try {
      const r = await copyLog.append(batch('twice', [{ a: 1 }, { a: 2 }]));
      if (r.kind !== 'appended') throw new Error('not appended');
      const [original] = await copyLog.read(0, 0);
      expect(original!.id).toBeDefined();
      await new Promise((res) => setTimeout(res, 1_500));
      const nm = await jetstreamManager(nc);
      const stored = await nm.streams.getMessage(copyNames.stream, { seq: original!.position });
      const { jetstream } = await import('@nats-io/jetstream');
      // As Keel's publisher marks a message it publishes again.
      const headers = stored!.header!;
      headers.set('Keel-Republished', '1');
      const copy = await jetstream(nc).publish(stored!.subject, stored!.data, { msgID: original!.id!, headers });
      expect(copy.duplicate).toBe(false);
      await copyLog.append(batch('twice', [{ a: 3 }]));
      expect(await streamMessagesOf(copyNames.stream)).toBe(3);
      // Readers of the log see the batch once: the republished copy finds its original.
      expect((await copyLog.read(0, 0)).map((b) => b.count)).toEqual([2, 1]);

      const ctx = { ...workerContext(copyLog), store: copyStore };
      const runner = runProcessor(ctx, usageProcessor());
      try {
        await runner.drain(30_000);
        const totals = await new UsageService(copyStore).totals({ from: 0, to: Date.now() + 3_600_000 });
        expect(totals.find((t) => t.tenant === 'twice')?.events).toBe(3);
      } finally {
        await runner.stop();
      }
      const page = await readEvents(copyLog, { tenant: 'twice', limit: 100 });
      expect(page.events.map((e) => e.a)).toEqual([1, 2, 3]);
      // Also across pages of the events API: the copy falls between the two pages.
      const first = await readEvents(copyLog, { tenant: 'twice', limit: 2 });
      const second = await readEvents(copyLog, { tenant: 'twice', limit: 100, cursor: first.cursor });
      expect([...first.events, ...second.events].map((e) => e.a)).toEqual([1, 2, 3]);
    } finally {
      await nc.close();
      await copyLog.close();
      await copyStore.close();
      await cleanup(copyNames);
    }
  });

  it('refuses the commit of a worker whose partition was taken over (fencing)', async () => {
    const leasesA = new PartitionLeases({ store, consumer: 'fenced', partitions: 1, worker: 'a', leaseMs: 600, logger: createLogger('silent') });
    await waitFor('a holds the partition', async () => leasesA.epochOf(0), (e) => e !== undefined);
    const epochA = leasesA.epochOf(0)!;
    await store.db.transaction().execute((trx) => leasesA.fence(trx, 0, epochA));
    // a stalls (its lease runs out) and b takes the partition over.
    await leasesA.close();
    await store.db.updateTable('partition_leases').set({ owner: 'a', epoch: epochA, expires_at: 0 }).where('consumer', '=', 'fenced').execute();
    const leasesB = new PartitionLeases({ store, consumer: 'fenced', partitions: 1, worker: 'b', leaseMs: 600, logger: createLogger('silent') });
    try {
      await waitFor('b holds the partition', async () => leasesB.epochOf(0), (e) => e !== undefined);
      expect(leasesB.epochOf(0)).toBe(epochA + 1);
      await expect(store.db.transaction().execute((trx) => leasesA.fence(trx, 0, epochA))).rejects.toMatchObject({ code: 'conflict' });
      await store.db.transaction().execute((trx) => leasesB.fence(trx, 0, epochA + 1));
    } finally {
      await leasesB.close();
    }
  });
});
