/**
 * The compactor thread: encodes sealed segments (compaction.ts) at the lowest CPU priority, so
 * ingest keeps the cores it needs and compaction uses what is left (it catches up when load
 * drops). The writer thread sends jobs one at a time and owns every index change.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { compactSegment, type CompactionJob, type CompactionResult } from './compaction.js';
import { ownThreadId } from './thread-cpu.js';

const { dir } = workerData as { dir: string };
const port = parentPort!;

export type CompactorReply =
  | { ok: true; result: CompactionResult }
  | { ok: false; segment: number; error: string }
  /** Sent once at start: the thread's id, so the scheduler can leave its CPU out of Keel's load. */
  | { started: true; tid: number | undefined };

/**
 * Linux sets priority per thread: /proc/thread-self names this thread's id, and setpriority on it
 * leaves the process's other threads as they are. Elsewhere the thread keeps normal priority.
 */
function lowerOwnPriority(tid: number | undefined): void {
  try {
    if (tid !== undefined) setPriority(tid, 19);
  } catch {
    // not allowed: compaction still works, at normal priority
  }
}
const tid = ownThreadId();
lowerOwnPriority(tid);
port.postMessage({ started: true, tid } satisfies CompactorReply);

port.on('message', (job: CompactionJob) => {
  try {
    port.postMessage({ ok: true, result: compactSegment(dir, job) } satisfies CompactorReply);
  } catch (e) {
    port.postMessage({ ok: false, segment: job.segment, error: e instanceof Error ? e.message : String(e) } satisfies CompactorReply);
  }
});
