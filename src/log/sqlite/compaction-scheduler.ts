/**
 * The writer thread's side of compaction: which sealed segments wait, one job at a time on the
 * compactor thread, when the next one may start (compaction-gate.ts: not while Keel is short of
 * CPU, unless the backlog passed its bound), and the index update that swaps a segment to
 * its compacted file (step 3 and 4 of compaction.ts). Every index write stays on the writer
 * thread, the log's only writer.
 */
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { workerUrl } from '../../core/worker-url.js';
import { compactionGate, CpuWindow, type CpuSample } from './compaction-gate.js';
import type { CompactionRow } from './compaction.js';
import { recoverCompaction } from './compaction.js';
import type { CompactorReply } from './compactor-worker.js';
import type { CompactionEvent, WriterTotals } from './protocol.js';
import { segmentFile, type SegmentWriter } from './segments.js';
import { threadCpuMs, threadsWaitMs } from './thread-cpu.js';

export interface CompactionSchedulerOptions {
  dir: string;
  db: Database.Database;
  segments: SegmentWriter;
  totals: WriterTotals;
  /** Seal the active segment once no append came for this long and it holds at least sealMinBytes. */
  sealIdleMs: number;
  sealMinBytes: number;
  report: (e: CompactionEvent) => void;
  /** Compact whatever the load once more than this many NDJSON bytes wait (`log.compactionMaxBacklog`). */
  maxBacklogBytes: number;
  /** Keel's CPU time so far without the compactor thread's (its id, once known); tests drive it. */
  cpu?: (compactorTid: number | undefined) => CpuSample;
  /** Cores Keel may use; default usableCores(). */
  cores?: number;
}

/** Keel's CPU time and waiting so far, the compactor thread's own left out where Linux tells it. */
function keelCpu(compactorTid: number | undefined): CpuSample {
  const u = process.cpuUsage();
  const compactor = compactorTid === undefined ? 0 : (threadCpuMs(compactorTid) ?? 0);
  return { at: performance.now(), cpuMs: (u.user + u.system) / 1000 - compactor, waitMs: threadsWaitMs(compactorTid) };
}

/** The cores this process may use: its CPU affinity, capped by a cgroup v2 quota (a container's CPU limit). */
export function usableCores(): number {
  const cores = availableParallelism();
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    const limit = Number(quota) / Number(period);
    if (Number.isFinite(limit) && limit > 0) return Math.min(cores, limit);
  } catch {
    // no cgroup v2 CPU limit to read
  }
  return cores;
}

type JobReply = Exclude<CompactorReply, { started: true }>;

/** Finishes what a crash interrupted; call before the SegmentWriter opens the active segment. */
export function recoverSegments(dir: string, db: Database.Database): void {
  const uncompacted = db.prepare('SELECT 1 FROM batches WHERE seg_id = ? AND stored IS NULL LIMIT 1');
  recoverCompaction(dir, (segment) => uncompacted.get(segment) !== undefined);
}

export class CompactionScheduler {
  private readonly queue: number[] = [];
  private running: { segment: number; rows: CompactionRow[] } | undefined;
  private readonly worker: Worker;
  private lastAppend = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly rowsOf;
  private readonly place;
  private closed = false;
  private compactorTid: number | undefined;
  private readonly window = new CpuWindow();
  private readonly cores: number;
  private readonly cpu: (compactorTid: number | undefined) => CpuSample;
  private deferred = false;
  private sampledAt = -Infinity;

  constructor(private readonly o: CompactionSchedulerOptions) {
    this.cores = o.cores ?? usableCores();
    this.cpu = o.cpu ?? keelCpu;
    this.rowsOf = o.db.prepare('SELECT position, seg_offset AS offset, bytes FROM batches WHERE seg_id = ? AND stored IS NULL ORDER BY position');
    this.place = o.db.prepare('UPDATE batches SET seg_offset = ?, stored = ? WHERE position = ? AND seg_id = ? AND stored IS NULL');
    const waiting = o.db.prepare('SELECT DISTINCT seg_id AS s FROM batches WHERE stored IS NULL AND seg_id IS NOT NULL AND seg_id < ? ORDER BY seg_id').all(o.segments.active) as { s: number }[];
    this.queue.push(...waiting.map((w) => w.s));
    this.worker = new Worker(workerUrl(import.meta.url, 'compactor-worker'), { workerData: { dir: o.dir } });
    this.worker.unref();
    this.worker.on('message', (m: CompactorReply) => {
      if ('started' in m) this.compactorTid = m.tid;
      else this.done(m);
    });
    this.worker.on('error', (e) => o.report({ op: 'compaction', ok: false, segment: this.running?.segment ?? 0, error: e.message }));
    this.timer = setInterval(() => this.tick(), Math.max(50, Math.min(1000, o.sealIdleMs / 2)));
    this.timer.unref();
    this.next();
  }

  /** After each append: a segment the append sealed (rolled over) waits for compaction. */
  appended(activeBefore: number): void {
    this.lastAppend = Date.now();
    if (this.o.segments.active !== activeBefore) this.enqueue(activeBefore);
  }

  /** Each tick: a CPU sample for the gate, the idle seal, and another look at what waits. */
  private tick(): void {
    this.sample();
    this.sealIfIdle();
    this.next();
  }

  private sample(): void {
    this.sampledAt = performance.now();
    this.window.add(this.cpu(this.compactorTid));
  }

  private sealIfIdle(): void {
    if (Date.now() - this.lastAppend < this.o.sealIdleMs || this.o.segments.activeBytes < this.o.sealMinBytes) return;
    const sealed = this.o.segments.seal();
    if (sealed !== undefined) this.enqueue(sealed);
  }

  private enqueue(segment: number): void {
    this.queue.push(segment);
    this.next();
  }

  private next(): void {
    if (this.running || this.closed || this.queue.length === 0) return;
    // A fresh sample when the last one is older than a tenth of a second: a segment that seals as
    // a peak begins is judged by the load of that moment, not of the quiet seconds before it.
    if (performance.now() - this.sampledAt >= 100) this.sample();
    const gate = compactionGate({
      samples: this.window.all,
      cores: this.cores,
      uncompactedBytes: this.o.totals.uncompactedBytes,
      maxBacklogBytes: this.o.maxBacklogBytes,
    });
    if (this.deferred === gate.run) {
      // Told when it changes, not at every look: the log line and the gauge say since when.
      this.deferred = !gate.run;
      this.o.report({
        op: 'compactionGate',
        deferred: this.deferred,
        share: gate.share ?? null,
        wait: gate.wait ?? null,
        uncompactedBytes: this.o.totals.uncompactedBytes,
      });
    }
    if (!gate.run) return; // the next tick looks again
    for (;;) {
      const segment = this.queue.shift();
      if (segment === undefined) return;
      const rows = this.rowsOf.all(segment) as CompactionRow[];
      if (rows.length === 0) continue;
      this.running = { segment, rows };
      this.worker.postMessage({ segment, rows });
      return;
    }
  }

  private done(m: JobReply): void {
    const job = this.running;
    this.running = undefined;
    if (!job || this.closed) return;
    if (!m.ok) {
      this.o.report({ op: 'compaction', ok: false, segment: m.segment, error: m.error });
      this.next();
      return;
    }
    const bytesOf = new Map(job.rows.map((r) => [r.position, r.bytes]));
    let bytes = 0;
    let stored = 0;
    let batches = 0;
    try {
      this.o.db.transaction(() => {
        for (const r of m.result.rows) {
          // Retention may have removed the batch meanwhile: then nothing points at its frame.
          if (this.place.run(r.offset, r.stored, r.position, job.segment).changes === 0) continue;
          bytes += bytesOf.get(r.position)!;
          stored += r.stored;
          batches++;
        }
      })();
    } catch (e) {
      // The index still points into the .seg file; the .cseg is an orphan removed on reopen.
      this.o.report({ op: 'compaction', ok: false, segment: job.segment, error: e instanceof Error ? e.message : String(e) });
      this.next();
      return;
    }
    this.o.totals.diskBytes += stored - bytes;
    this.o.totals.uncompactedBytes -= bytes;
    const original = segmentFile(this.o.dir, job.segment);
    // Readers that still hold the file open keep reading it; new reads find the index updated.
    if (existsSync(original)) unlinkSync(original);
    this.o.report({ op: 'compaction', ok: true, segment: job.segment, batches, bytes, stored, cpuMs: m.result.cpuMs });
    this.next();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.worker.terminate();
  }
}
