/**
 * Whether the compactor may start the next sealed segment now. Pure: the CPU samples and the
 * backlog are given, so the decision is unit-tested without a clock or a busy machine.
 *
 * Why a gate at all: at the lowest CPU priority (nice 19) the compactor still took 16 % of the
 * peak ingest rate (BENCHMARKS.md, "Log compaction"). Niceness only weighs threads queued on the
 * same CPU of the same scheduling group: on a 2-core node the compactor often has a core of its
 * own while Keel's threads queue on the other, and V8's helper threads collect its garbage at
 * normal priority. So while Keel is short of CPU the next segment waits: compaction runs in the
 * troughs, and once the backlog passes `log.compactionMaxBacklog` it runs regardless, so the disk
 * a saturated node spends is bounded.
 *
 * Short of CPU is either of: Keel's threads used half of its cores or more (a rate at which
 * compaction, about twice the CPU per event of ingest itself, could not keep up anyway), or they
 * waited for a CPU a quarter of a thread's time or more (the node is busy, with Keel's own work or
 * another program's), over the window or over its last interval. The compactor's own CPU and
 * waiting are left out of both.
 */

/**
 * Cumulative times (ms) of the process's threads other than the compactor, read at `at` (ms): CPU
 * used, and time spent runnable but waiting for a CPU (Linux; undefined where it is not known).
 */
export interface CpuSample {
  at: number;
  cpuMs: number;
  waitMs?: number | undefined;
}

/** Saturated at this share of the cores used by Keel's threads over the window ... */
export const SATURATED_SHARE = 0.5;
/** ... or at this much waiting for a CPU (thread-seconds per second, all of Keel's threads together). */
export const SATURATED_WAIT = 0.25;

/** Default `log.compactionMaxBacklog`: 4 GiB of NDJSON, about half a minute at the peak ingest rate measured here. */
export const DEFAULT_MAX_BACKLOG_BYTES = 4 * 1024 ** 3;

/** The window the share is measured over. */
export const CPU_WINDOW_MS = 5_000;

export type GateDecision =
  { run: true; reason: 'backlog' | 'idle' | 'unmeasured'; share: number | undefined; wait: number | undefined } | { run: false; reason: 'saturated'; share: number; wait: number | undefined };

export interface GateInput {
  /** Oldest first, covering about the window (see CpuWindow). */
  samples: readonly CpuSample[];
  /** Cores the process may use. */
  cores: number;
  /** NDJSON bytes waiting for compaction. */
  uncompactedBytes: number;
  /** Above this backlog compaction runs whatever the load (0: always runs, never waits). */
  maxBacklogBytes: number;
  saturatedShare?: number;
  saturatedWait?: number;
}

/** The share of `cores` the samples show used, or undefined with less than two samples apart in time. */
export function cpuShare(samples: readonly CpuSample[], cores: number): number | undefined {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || last.at <= first.at || cores <= 0) return undefined;
  return Math.max(0, last.cpuMs - first.cpuMs) / ((last.at - first.at) * cores);
}

/** Thread-seconds per second Keel's threads waited for a CPU over the samples, where both ends know it. */
export function cpuWait(samples: readonly CpuSample[]): number | undefined {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first?.waitMs === undefined || last?.waitMs === undefined || last.at <= first.at) return undefined;
  return Math.max(0, last.waitMs - first.waitMs) / (last.at - first.at);
}

/** The larger of the two: over the whole window, and since the sample before the newest. */
function worst(f: (s: readonly CpuSample[]) => number | undefined, samples: readonly CpuSample[]): number | undefined {
  const window = f(samples);
  const recent = f(samples.slice(-2));
  return window === undefined || recent === undefined ? window : Math.max(window, recent);
}

/**
 * Saturated by the window or by its last interval: a load that just began (the first segment of a
 * peak seals within a second) stops compaction at once, and a short dip in a busy window does not
 * start it.
 */
export function compactionGate(i: GateInput): GateDecision {
  const share = worst((s) => cpuShare(s, i.cores), i.samples);
  const wait = worst(cpuWait, i.samples);
  if (i.uncompactedBytes > i.maxBacklogBytes) return { run: true, reason: 'backlog', share, wait };
  if (share === undefined) return { run: true, reason: 'unmeasured', share, wait };
  if (share >= (i.saturatedShare ?? SATURATED_SHARE) || (wait ?? 0) >= (i.saturatedWait ?? SATURATED_WAIT)) {
    return { run: false, reason: 'saturated', share, wait };
  }
  return { run: true, reason: 'idle', share, wait };
}

/** The samples of the last `windowMs`: the newest, and the oldest that is at most that old. */
export class CpuWindow {
  private readonly samples: CpuSample[] = [];

  constructor(private readonly windowMs = CPU_WINDOW_MS) {}

  add(s: CpuSample): void {
    this.samples.push(s);
    // Keep one sample at or before the window's start, so the window is covered whole.
    while (this.samples.length > 2 && this.samples[1]!.at <= s.at - this.windowMs) this.samples.shift();
  }

  get all(): readonly CpuSample[] {
    return this.samples;
  }
}
