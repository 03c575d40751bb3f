/**
 * Background compaction of the embedded log's sealed segments: what is read back is exactly what
 * was appended, and a SIGKILL at any moment of a compaction loses and duplicates nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { prng } from '../../src/bench/events.js';
import { eventLines, type LogBatch } from '../../src/log/event-log.js';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-event-log.js';
import { segmentDir } from '../../src/log/sqlite/segments.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempLog = () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-compaction-'));
  dirs.push(dir);
  return join(dir, 'log.db');
};

async function readAll(log: SqliteEventLog): Promise<LogBatch[]> {
  const out: LogBatch[] = [];
  let after = 0;
  for (;;) {
    const got = await log.read(0, after, { maxBatches: 37 });
    if (got.length === 0) return out;
    out.push(...got);
    after = got[got.length - 1]!.position;
  }
}

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for compaction');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const segmentFiles = (path: string) => readdirSync(segmentDir(path)).sort();

describe('log compaction', () => {
  it('reads compacted segments back byte for byte, in order, per tenant too, and after a restart', async () => {
    const path = tempLog();
    let log = await SqliteEventLog.open({ path, segmentBytes: 8 * 1024, sealIdleMs: 50, sealMinBytes: 1 });
    const rnd = prng(3);
    const sent: { tenant: string; text: string }[] = [];
    for (let b = 0; b < 60; b++) {
      // Compactable JSON, and batches that do not re-serialize the same (spaces, numeric keys).
      const lines = Array.from({ length: 1 + Math.floor(rnd() * 30) }, (_, i) =>
        b % 5 === 0
          ? `{ "b": ${b}, "i": ${i} }`
          : b % 7 === 0
            ? `{"2":"x","1":${i}}`
            : JSON.stringify({
                b,
                i,
                id: Math.floor(rnd() * 1e9)
                  .toString(16)
                  .padStart(8, '0'),
                note: 'é\u2028"q"',
              }),
      );
      const text = `${lines.join('\n')}\n`;
      const tenant = b % 2 === 0 ? 'even' : 'odd';
      sent.push({ tenant, text });
      await log.append({ tenant, data: Buffer.from(text), count: lines.length, minTs: b, maxTs: b, receivedAt: b });
    }
    await until(async () => (await log.stats()).uncompactedBytes === 0);
    const stats = await log.stats();
    expect(stats.diskBytes).toBeLessThan(stats.bytes);
    expect(segmentFiles(path).filter((f) => f.endsWith('.seg') && f !== segmentFiles(path).at(-1))).toEqual([]);

    const check = async () => {
      const all = await readAll(log);
      expect(all.map((b) => Buffer.from(b.data).toString('utf8'))).toEqual(sent.map((s) => s.text));
      expect(all.map((b) => b.bytes)).toEqual(sent.map((s) => Buffer.byteLength(s.text)));
      const odd = await log.readTenant('odd', 0, { maxBatches: 1000 });
      expect(odd.map((b) => Buffer.from(b.data).toString('utf8'))).toEqual(sent.filter((s) => s.tenant === 'odd').map((s) => s.text));
    };
    await check();
    await log.close();
    log = await SqliteEventLog.open({ path, segmentBytes: 8 * 1024, sealIdleMs: 50, sealMinBytes: 1 });
    try {
      await check();
      expect((await log.stats()).diskBytes).toBe(stats.diskBytes);
    } finally {
      await log.close();
    }
  });

  it('retention removes compacted segments and counts their disk bytes out', async () => {
    const path = tempLog();
    const log = await SqliteEventLog.open({ path, segmentBytes: 2 * 1024, sealIdleMs: 50, sealMinBytes: 1 });
    try {
      const data = (b: number) => Buffer.from(`${Array.from({ length: 30 }, (_, i) => JSON.stringify({ b, i, region: 'eu-west-1' })).join('\n')}\n`);
      for (let b = 0; b < 20; b++) await log.append({ tenant: 't', data: data(b), count: 30, minTs: b, maxTs: b, receivedAt: b * 1000 });
      await until(async () => (await log.stats()).uncompactedBytes === 0);
      const before = segmentFiles(path).filter((f) => f.endsWith('.cseg')).length;
      expect(before).toBeGreaterThan(3);
      // Everything that arrived before 15 s goes.
      const r = await log.sweep({ now: 20_000, maxAgeMs: 5_000, maxBytes: 0, idempotencyTtlMs: 1 });
      expect(r.deletedBatches).toBe(15);
      expect(segmentFiles(path).filter((f) => f.endsWith('.cseg')).length).toBeLessThan(before);
      const kept = await readAll(log);
      expect(kept.map((b) => JSON.parse([...eventLines(b.data)][0]!).b)).toEqual([15, 16, 17, 18, 19]);
      const stats = await log.stats();
      expect(stats.bytes).toBe(kept.reduce((s, b) => s + b.bytes!, 0));
      expect(stats.diskBytes).toBeLessThan(stats.bytes);
      expect(stats.diskBytes).toBeGreaterThan(0);
    } finally {
      await log.close();
    }
  });

  it('keeps segments as appended with compression off', async () => {
    const path = tempLog();
    const log = await SqliteEventLog.open({ path, segmentBytes: 1024, compress: false, sealIdleMs: 50, sealMinBytes: 1 });
    try {
      const data = Buffer.from(`${Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })).join('\n')}\n`);
      for (let b = 0; b < 5; b++) await log.append({ tenant: 't', data: Buffer.from(data), count: 50, minTs: 0, maxTs: 0, receivedAt: 0 });
      await new Promise((r) => setTimeout(r, 300));
      const stats = await log.stats();
      expect(stats.diskBytes).toBe(stats.bytes);
      expect(segmentFiles(path).every((f) => f.endsWith('.seg'))).toBe(true);
    } finally {
      await log.close();
    }
  });

  it('keeps every acknowledged batch exactly once when killed with SIGKILL at random moments of compaction', async () => {
    const path = tempLog();
    const child = fileURLToPath(new URL('./fixtures/compaction-child.mjs', import.meta.url));
    const rnd = prng(11);
    const acked = new Set<number>();
    let first = 0;
    for (let cycle = 0; cycle < 6; cycle++) {
      const proc = spawn(process.execPath, [child, path, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const ready = new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready\n')) resolve();
        });
        proc.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready: ${err}`)));
      });
      await ready;
      await new Promise((r) => setTimeout(r, 300 + Math.floor(rnd() * 900)));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      for (const m of out.matchAll(/^ack (\d+)$/gm)) acked.add(Number(m[1]));
      // Batch numbers of the next run start past everything this one may have sent.
      first += 1_000_000;
    }
    expect(acked.size).toBeGreaterThan(50);

    const log = await SqliteEventLog.open({ path, segmentBytes: 64 * 1024, sealIdleMs: 50, sealMinBytes: 1 });
    try {
      await until(async () => (await log.stats()).uncompactedBytes! < 64 * 1024);
      const all = await readAll(log);
      const seen = new Map<number, number>();
      for (const b of all) {
        const lines = [...eventLines(b.data)].map((l) => JSON.parse(l) as { batch: number; i: number });
        const id = lines[0]!.batch;
        // A batch is whole: every line of it, in order, and nothing else.
        expect(lines.map((l) => [l.batch, l.i])).toEqual(Array.from({ length: 20 + (id % 50) }, (_, i) => [id, i]));
        expect(b.tenant).toBe(`t${id % 3}`);
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
      expect([...acked].filter((id) => !seen.has(id))).toEqual([]);
      const stats = await log.stats();
      expect(stats.events).toBe(all.reduce((s, b) => s + b.count, 0));
      expect(stats.diskBytes).toBeLessThan(stats.bytes / 2);
      expect(segmentFiles(path).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await log.close();
    }
  }, 120_000);
});
