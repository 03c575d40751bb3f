/**
 * Compaction of a sealed segment: its batches are rewritten as encoded frames (batch-codec.ts)
 * into `<id>.cseg`, then the index points at them and the original `<id>.seg` is deleted.
 *
 * The swap is safe against a kill at any moment because each step leaves one complete, readable
 * copy that the index agrees with:
 *   1. frames go to `<id>.cseg.tmp`, fsync'ed  (crash: a stray .tmp, deleted on reopen)
 *   2. rename to `<id>.cseg`, fsync the directory  (crash: index still points into .seg; the
 *      orphan .cseg is deleted on reopen and compaction runs again)
 *   3. the writer updates every index row of the segment in one transaction  (crash after: the
 *      index points into .cseg; the leftover .seg is deleted on reopen)
 *   4. the writer deletes `<id>.seg`.
 * No batch is ever in the index twice or missing from it: only its placement changes.
 */
import { closeSync, existsSync, fsyncSync, openSync, readSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBatch } from './batch-codec.js';
import { fsyncDir, listSegments, segmentFile } from './segments.js';
import { ownThreadId, threadCpuMs } from './thread-cpu.js';

export interface CompactionRow {
  position: number;
  offset: number;
  bytes: number;
}

export interface CompactedRow {
  position: number;
  offset: number;
  stored: number;
}

export interface CompactionJob {
  segment: number;
  rows: CompactionRow[];
}

export interface CompactionResult {
  segment: number;
  rows: CompactedRow[];
  /**
   * CPU time the encoding took (ms), for the figures in BENCHMARKS.md: this thread's own where the
   * system tells it (Linux), else the whole process's (then busy ingest threads count too).
   */
  cpuMs: number;
}

/** Steps 1 and 2: writes `<segment>.cseg` durably and returns where each batch went. */
export function compactSegment(dir: string, job: CompactionJob): CompactionResult {
  const cpuMs = cpuClock();
  const cpu0 = cpuMs();
  const source = openSync(segmentFile(dir, job.segment), 'r');
  const final = segmentFile(dir, job.segment, 'cseg');
  const tmp = `${final}.tmp`;
  const out = openSync(tmp, 'w', 0o600);
  const rows: CompactedRow[] = [];
  try {
    let offset = 0;
    for (const r of job.rows) {
      const data = Buffer.allocUnsafe(r.bytes);
      let done = 0;
      while (done < r.bytes) {
        const n = readSync(source, data, done, r.bytes - done, r.offset + done);
        if (n === 0) throw new Error(`segment ${job.segment} ends before byte ${r.offset + r.bytes}`);
        done += n;
      }
      const frame = encodeBatch(data);
      let written = 0;
      while (written < frame.byteLength) written += writeSync(out, frame, written, frame.byteLength - written, offset + written);
      rows.push({ position: r.position, offset, stored: frame.byteLength });
      offset += frame.byteLength;
    }
    fsyncSync(out);
  } finally {
    closeSync(out);
    closeSync(source);
  }
  renameSync(tmp, final);
  fsyncDir(dir);
  return { segment: job.segment, rows, cpuMs: cpuMs() - cpu0 };
}

function cpuClock(): () => number {
  const tid = ownThreadId();
  if (tid !== undefined && threadCpuMs(tid) !== undefined) return () => threadCpuMs(tid) ?? 0;
  return () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
}

/**
 * On reopen, before anything is appended: finishes or undoes a compaction a crash interrupted.
 * `indexedUncompacted(id)` tells whether the index still points into `<id>.seg`.
 */
export function recoverCompaction(dir: string, indexedUncompacted: (segment: number) => boolean): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.endsWith('.cseg.tmp')) unlinkSync(join(dir, f));
  for (const id of listSegments(dir, 'cseg')) {
    if (indexedUncompacted(id)) unlinkSync(segmentFile(dir, id, 'cseg'));
    else if (existsSync(segmentFile(dir, id))) unlinkSync(segmentFile(dir, id));
  }
  fsyncDir(dir);
}
