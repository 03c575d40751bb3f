/**
 * Copies the log's WAL into the database file on its own thread, so the writer never pauses to do
 * it: a PASSIVE checkpoint runs beside the writer and readers without blocking them. Measured: with
 * the writer checkpointing itself, p99 acknowledgement latency rose with every checkpoint.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 1000');

let stopped = false;
parentPort!.on('message', (m: { op: string }) => {
  if (m.op === 'stop') {
    stopped = true;
    db.close();
    parentPort!.close();
  }
});

const tick = () => {
  if (stopped) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy or closing: the next tick tries again, and the writer's own fallback bounds the WAL
  }
  setTimeout(tick, intervalMs);
};
setTimeout(tick, intervalMs);
