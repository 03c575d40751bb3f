/**
 * The compaction scheduler with its gate (src/log/sqlite/compaction-scheduler.ts and
 * compaction-gate.ts), on a real index, real segment files and the real compactor thread; only
 * Keel's CPU samples are driven by the test (each sample is one more second, with the share of
 * the two cores used and the waiting for a CPU the test sets), so what decides is the samples,
 * not the machine's load.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { CpuSample } from '../../src/log/sqlite/compaction-gate.js';
import { CompactionScheduler } from '../../src/log/sqlite/compaction-scheduler.js';
import type { CompactionEvent, WriterTotals } from '../../src/log/sqlite/protocol.js';
import { openLogDatabase } from '../../src/log/sqlite/schema.js';
import { segmentDir, SegmentWriter } from '../../src/log/sqlite/segments.js';

const SEGMENT = 4096;
/** One batch: 8 events of about 80 bytes. */
const batch = (n: number) => Buffer.from(`${Array.from({ length: 8 }, (_, i) => JSON.stringify({ n, i, service: 'checkout', trace_id: (n * 31 + i).toString(16).padStart(32, '0') })).join('\n')}\n`);
/** About what a sealed segment holds: batches are added until it reaches SEGMENT bytes. */
const SEGMENT_HOLDS = Math.ceil(SEGMENT / batch(10).byteLength) * batch(10).byteLength;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function setup(maxBacklogBytes: number) {
  const dir = mkdtempSync(join(tmpdir(), 'keel-compaction-gate-'));
  const path = join(dir, 'log.db');
  const db: Database.Database = openLogDatabase(path);
  const segments = new SegmentWriter(segmentDir(path), undefined, SEGMENT);
  const totals: WriterTotals = { batches: 0, bytes: 0, lastPosition: 0, eventsEnd: 0, diskBytes: 0, uncompactedBytes: 0 };
  const events: CompactionEvent[] = [];
  // Keel's CPU as the scheduler samples it: every sample is a second later, at `busy` of 2 cores,
  // its threads waiting `wait` thread-seconds for a CPU.
  const cpu = { busy: 0, wait: 0, samples: 0, at: 0, cpuMs: 0, waitMs: 0 };
  const scheduler = new CompactionScheduler({
    dir: segmentDir(path),
    db,
    segments,
    totals,
    sealIdleMs: 100,
    sealMinBytes: Number.MAX_SAFE_INTEGER,
    report: (e) => events.push(e),
    maxBacklogBytes,
    cores: 2,
    cpu: (): CpuSample => {
      cpu.samples++;
      cpu.at += 1000;
      cpu.cpuMs += cpu.busy * 2 * 1000;
      cpu.waitMs += cpu.wait * 1000;
      return { at: cpu.at, cpuMs: cpu.cpuMs, waitMs: cpu.waitMs };
    },
  });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => {
    db.close();
  });
  cleanups.push(() => segments.close());
  cleanups.push(() => scheduler.close());
  const insert = db.prepare(
    `INSERT INTO batches (tenant, received_at, count, min_ts, max_ts, events_end, bytes, data, seg_id, seg_offset)
     VALUES ('t', 0, 8, 0, 0, ?, ?, X'', ?, ?)`,
  );
  let n = 0;
  /** Appends one batch as the writer thread does: segment, index, totals, then tells the scheduler. */
  const append = () => {
    const data = batch(n++);
    const before = segments.active;
    const [place] = segments.append([data]);
    totals.eventsEnd += 8;
    insert.run(totals.eventsEnd, data.byteLength, place!.segment, place!.offset);
    totals.batches++;
    totals.bytes += data.byteLength;
    totals.diskBytes += data.byteLength;
    totals.uncompactedBytes += data.byteLength;
    scheduler.appended(before);
  };
  const files = (kind: 'seg' | 'cseg') => readdirSync(segmentDir(path)).filter((f) => f.endsWith(`.${kind}`)).length;
  /** Waits for `k` more samples: that many more looks at what waits. */
  const samplesLater = async (k: number) => {
    const target = cpu.samples + k;
    await until(`${k} more CPU samples`, () => cpu.samples >= target);
  };
  const ops = () => events.map((e) => (e.op === 'compactionGate' ? (e.deferred ? 'waits' : 'resumes') : e.ok ? `compacted ${e.segment}` : `failed ${e.segment}`));
  return { cpu, totals, events, append, files, samplesLater, ops, segments, path };
}

describe('log compaction yields to a saturated Keel', () => {
  it('waits while Keel keeps the cores busy, compacts past the backlog bound, and catches up once the load drops', async () => {
    // Two and a half segments: two sealed ones wait under it, a third takes the backlog over.
    const bound = Math.round(2.5 * SEGMENT_HOLDS);
    const s = setup(bound);
    s.cpu.busy = 0.9;
    await s.samplesLater(3);
    // Two segments sealed (and a batch in the third, the active one): under the bound, both wait.
    while (s.segments.active < 3) s.append();
    await until('the gate to say it waits', () => s.ops().includes('waits'));
    await s.samplesLater(3);
    expect(s.ops()).toEqual(['waits']);
    expect(s.events[0]).toMatchObject({ op: 'compactionGate', deferred: true, share: 0.9, wait: 0 });
    expect({ seg: s.files('seg'), cseg: s.files('cseg') }).toEqual({ seg: 3, cseg: 0 });

    // A third sealed segment takes the backlog over the bound: compaction runs, still at 0.9 busy,
    // until the backlog is back under the bound, then waits again.
    while (s.segments.active < 4) s.append();
    await until('the backlog back under its bound', () => s.ops().filter((o) => o === 'waits').length === 2);
    expect(s.ops()).toEqual(['waits', 'resumes', 'compacted 1', 'waits']);
    expect(s.totals.uncompactedBytes).toBeLessThanOrEqual(bound);
    expect({ seg: s.files('seg'), cseg: s.files('cseg') }).toEqual({ seg: 3, cseg: 1 });

    // The load drops: once the window's share is under half, the rest is compacted.
    s.cpu.busy = 0.1;
    await until('the sealed segments compacted', () => s.ops().includes('compacted 3'));
    expect(s.ops()).toEqual(['waits', 'resumes', 'compacted 1', 'waits', 'resumes', 'compacted 2', 'compacted 3']);
    expect(s.events[4]).toMatchObject({ op: 'compactionGate', deferred: false });
    // Only the active segment (4) is left as appended.
    expect({ seg: s.files('seg'), cseg: s.files('cseg') }).toEqual({ seg: 1, cseg: 3 });
  });

  it('waits while Keel waits for a CPU though it uses little (another program keeps the node busy)', async () => {
    const s = setup(1024 ** 3);
    s.cpu.busy = 0.1;
    s.cpu.wait = 1;
    await s.samplesLater(3);
    while (s.segments.active < 3) s.append();
    await until('the gate to say it waits', () => s.ops().includes('waits'));
    await s.samplesLater(3);
    // Told when the first segment sealed: what waited then (a sealed segment and a batch).
    expect(s.events).toEqual([{ op: 'compactionGate', deferred: true, share: 0.1, wait: 1, uncompactedBytes: expect.any(Number) }]);
    expect(s.files('cseg')).toBe(0);
    s.cpu.wait = 0;
    await until('both sealed segments compacted', () => s.ops().includes('compacted 2'));
    expect(s.ops()).toEqual(['waits', 'resumes', 'compacted 1', 'compacted 2']);
    expect(s.files('cseg')).toBe(2);
  });

  it('never waits with a bound of 0', async () => {
    const s = setup(0);
    s.cpu.busy = 1;
    await s.samplesLater(3);
    while (s.segments.active < 3) s.append();
    await until('both sealed segments compacted', () => s.ops().includes('compacted 2'));
    expect(s.ops()).toEqual(['compacted 1', 'compacted 2']);
    expect(s.files('cseg')).toBe(2);
  });
});
