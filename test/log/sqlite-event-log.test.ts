import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventLines } from '../../src/log/event-log.js';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-event-log.js';

let dir: string;
let log: SqliteEventLog;
const path = () => join(dir, 'log.db');
const batch = (tenant: string, events: object[], receivedAt = 1000) => ({
  tenant,
  data: Buffer.from(events.map((e) => JSON.stringify(e)).join('\n') + '\n'),
  count: events.length,
  minTs: receivedAt,
  maxTs: receivedAt,
  receivedAt,
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-log-'));
  log = await SqliteEventLog.open({ path: path() });
});
afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteEventLog', () => {
  it('appends with increasing positions and reads back in order', async () => {
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => log.append(batch('t', [{ n }]))));
    const positions = results.map((r) => (r.kind === 'appended' ? r.position : -1));
    expect(new Set(positions).size).toBe(5);
    const read = await log.read(0, 0);
    expect(read.map((b) => b.position)).toEqual([...positions].sort((a, b) => a - b));
    expect(read.flatMap((b) => [...eventLines(b.data)].map((l) => JSON.parse(l).n)).sort()).toEqual([1, 2, 3, 4, 5]);
    expect((await log.read(0, read[2]!.position)).length).toBe(2);
    const stats = await log.stats();
    expect(stats).toMatchObject({ batches: 5, events: 5, lastPositions: [Math.max(...positions)] });
  });

  it('reads data only for the tenants dataFor accepts, headers with their size for the others', async () => {
    await log.append(batch('acme', [{ a: 1 }]));
    await log.append(batch('keel-system', [{ signal: 'ingest' }]));
    const read = await log.read(0, 0, { dataFor: (t) => t === 'keel-system' });
    expect(read.map((b) => [b.tenant, Buffer.from(b.data).toString('utf8'), b.bytes])).toEqual([
      ['acme', '', 8],
      ['keel-system', '{"signal":"ingest"}\n', 20],
    ]);
  });

  it('keeps positions monotonic across a restart after retention emptied the log', async () => {
    await log.append(batch('t', [{ a: 1 }], 1));
    const r = await log.sweep({ now: 10_000, maxAgeMs: 1, maxBytes: 0, idempotencyTtlMs: 1 });
    expect(r.deletedBatches).toBe(1);
    await log.close();
    log = await SqliteEventLog.open({ path: path() });
    const next = await log.append(batch('t', [{ a: 2 }]));
    expect(next).toMatchObject({ kind: 'appended', position: 2 });
  });

  it('stores an idempotent append once and returns the first answer', async () => {
    const idem = { key: 'k1', bodyHash: 'h', response: '{"accepted":1}' };
    const first = await log.append({ ...batch('t', [{ a: 1 }]), idempotency: idem });
    const second = await log.append({ ...batch('t', [{ a: 1 }]), idempotency: { ...idem, response: 'other' } });
    expect(first.kind).toBe('appended');
    expect(second).toEqual({ kind: 'duplicate', response: '{"accepted":1}', bodyHash: 'h' });
    expect((await log.stats()).batches).toBe(1);
    // Another tenant may use the same key.
    expect((await log.append({ ...batch('u', [{ a: 1 }]), idempotency: idem })).kind).toBe('appended');
  });

  it('retains by age and size but never deletes what a consumer has not committed past', async () => {
    for (let i = 1; i <= 10; i++) await log.append(batch('t', [{ i, pad: 'x'.repeat(100) }], i * 1000));
    await log.commit('slo', 0, 4);
    const held = await log.sweep({ now: 100_000, maxAgeMs: 1000, maxBytes: 0, idempotencyTtlMs: 86_400_000 });
    expect(held).toMatchObject({ deletedBatches: 4, heldByConsumer: true });
    expect((await log.read(0, 0))[0]!.position).toBe(5);
    const stats = await log.stats();
    expect(stats.consumers).toEqual([{ name: 'slo', partition: 0, position: 4, lagEvents: 6 }]);
    await log.commit('slo', 0, 10);
    // Size: keep the newest batches under 300 bytes.
    const bySize = await log.sweep({ now: 0, maxAgeMs: 0, maxBytes: 300, idempotencyTtlMs: 86_400_000 });
    expect(bySize.deletedBatches).toBe(4);
    expect((await log.stats()).batches).toBe(2);
    // A commit never moves a consumer backwards.
    await log.commit('slo', 0, 3);
    expect(await log.committed('slo', 0)).toBe(10);
  });

  it('reads one tenant by time range', async () => {
    await log.append({ ...batch('a', [{ x: 1 }]), minTs: 100, maxTs: 200 });
    await log.append({ ...batch('b', [{ x: 2 }]), minTs: 100, maxTs: 200 });
    await log.append({ ...batch('a', [{ x: 3 }]), minTs: 300, maxTs: 400 });
    expect((await log.readTenant('a', 0)).length).toBe(2);
    expect((await log.readTenant('a', 0, { fromTs: 250 })).length).toBe(1);
    expect((await log.readTenant('a', 0, { toTs: 150 })).length).toBe(1);
  });

  it('refuses appends over its size limit through health()', async () => {
    await log.close();
    log = await SqliteEventLog.open({ path: path(), limits: { maxBytes: 50 } });
    expect(log.health().overloaded).toBeUndefined();
    await log.append(batch('t', [{ pad: 'x'.repeat(100) }]));
    expect(log.health().overloaded).toMatchObject({ retryAfterSeconds: 30 });
  });
});

describe('segment files', () => {
  it('rolls segments, deletes whole ones retention emptied, and cuts off an unindexed tail on reopen', async () => {
    await log.close();
    // Segments as appended (compaction, which rewrites sealed ones, is covered in compaction.test.ts).
    log = await SqliteEventLog.open({ path: path(), segmentBytes: 1000, compress: false });
    for (let i = 1; i <= 12; i++) await log.append(batch('t', [{ i, pad: 'x'.repeat(300) }], i * 1000));
    const { readdirSync, appendFileSync } = await import('node:fs');
    const segDir = `${path()}.segments`;
    const before = readdirSync(segDir).sort();
    expect(before.length).toBe(3);
    await log.sweep({ now: 100_000, maxAgeMs: 100_000 - 8500, maxBytes: 0, idempotencyTtlMs: 1 });
    const after = readdirSync(segDir).sort();
    expect(after.length).toBeLessThan(before.length);
    const kept = await log.read(0, 0);
    expect(kept.map((b) => JSON.parse(b.data.toString()).i)).toEqual([9, 10, 11, 12]);
    await log.close();
    // A crash between writing data and indexing it leaves bytes no batch points to.
    appendFileSync(`${segDir}/${after[after.length - 1]}`, 'garbage that was never acknowledged\n');
    log = await SqliteEventLog.open({ path: path(), segmentBytes: 1000, compress: false });
    await log.append(batch('t', [{ i: 13 }]));
    const all = await log.read(0, 0);
    expect(all.map((b) => b.data.toString().trim()).map((l) => JSON.parse(l).i)).toEqual([9, 10, 11, 12, 13]);
  });
});
