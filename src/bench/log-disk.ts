/**
 * What the bench's events take on the embedded log's disk once compaction has caught up: the
 * segment files and the index (log.db), per event; the WAL apart (a bounded, fixed overhead that
 * does not grow with the events held). Read from the files themselves, not from Keel's counters.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { segmentDir } from '../log/sqlite/segments.js';

export interface LogDiskResult {
  /** Segment files and log.db, per event held by the log. */
  disk_bytes_per_event: number;
  /** The same events as NDJSON (what the log stored before compaction), per event. */
  ndjson_bytes_per_event: number;
  segment_bytes: number;
  index_bytes: number;
  wal_bytes: number;
  /** NDJSON bytes not compacted when measured (the active segment, under its seal size). */
  uncompacted_bytes: number;
  /** Seconds waited after the load for compaction to catch up. */
  compaction_wait_s: number;
  /** CPU of the compactor thread per compacted event (µs), from Keel's metrics. */
  compaction_cpu_us_per_event: number | null;
}

interface LogAnswer {
  events: number;
  bytes: number;
  uncompactedBytes?: number;
}

const fileSize = (path: string) => (existsSync(path) ? statSync(path).size : 0);

/** Below this, what is left may be an active segment too small to be sealed when idle (16 MiB). */
const SEAL_MIN_BYTES = 16 * 1024 * 1024;

/**
 * Waits until nothing is left to compact, or the uncompacted bytes stop shrinking for `stallS`
 * (15 s when what is left may be an active segment too small to seal), or `timeoutS`; then measures.
 */
export async function measureLogDisk(o: { url: string; adminKey: string; dataDir: string; timeoutS: number; stallS: number; log: (line: string) => void }): Promise<LogDiskResult> {
  const headers = { authorization: `Bearer ${o.adminKey}` };
  const stats = async () => (await (await request(`${o.url}/v1/log`, { headers })).body.json()) as LogAnswer;
  const t0 = performance.now();
  let s = await stats();
  let last = s.uncompactedBytes ?? 0;
  let lastChange = performance.now();
  o.log(`waiting for compaction: ${Math.round(last / 1e6)} MB of ${Math.round(s.bytes / 1e6)} MB not compacted yet…`);
  while ((s.uncompactedBytes ?? 0) > 0) {
    const now = performance.now();
    const stallS = last < SEAL_MIN_BYTES ? Math.min(o.stallS, 15) : o.stallS;
    if (now - t0 > o.timeoutS * 1000 || now - lastChange > stallS * 1000) break;
    await new Promise((r) => setTimeout(r, 1000));
    s = await stats();
    if ((s.uncompactedBytes ?? 0) !== last) {
      last = s.uncompactedBytes ?? 0;
      lastChange = performance.now();
    }
  }
  const waitS = (performance.now() - t0) / 1000;
  const logPath = join(o.dataDir, 'log.db');
  const segDir = segmentDir(logPath);
  const segmentBytes = existsSync(segDir) ? readdirSync(segDir).reduce((sum, f) => sum + fileSize(join(segDir, f)), 0) : 0;
  const indexBytes = fileSize(logPath);
  const walBytes = fileSize(`${logPath}-wal`) + fileSize(`${logPath}-shm`);
  const events = Math.max(1, s.events);
  return {
    disk_bytes_per_event: round((segmentBytes + indexBytes) / events),
    ndjson_bytes_per_event: round(s.bytes / events),
    segment_bytes: segmentBytes,
    index_bytes: indexBytes,
    wal_bytes: walBytes,
    uncompacted_bytes: s.uncompactedBytes ?? 0,
    compaction_wait_s: round(waitS),
    compaction_cpu_us_per_event: await compactionCpu(o.url, headers, s.bytes / events),
  };
}

async function compactionCpu(url: string, headers: Record<string, string>, bytesPerEvent: number): Promise<number | null> {
  const res = await request(`${url}/metrics`, { headers });
  const text = await res.body.text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  const cpuS = value(/^keel_log_compaction_cpu_seconds_total (\S+)$/m);
  const ndjson = value(/^keel_log_compacted_bytes_total\{form="ndjson"\} (\S+)$/m);
  if (!(ndjson > 0) || !Number.isFinite(cpuS) || !(bytesPerEvent > 0)) return null;
  return round((cpuS * 1e6) / (ndjson / bytesPerEvent));
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
