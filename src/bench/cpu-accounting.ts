/**
 * Where a benchmark's CPU goes, per process group, from Linux's /proc: user+system time of given
 * process ids (all their threads) and of every process with a given command name (PostgreSQL
 * forks one backend per connection), plus the machine's total busy time, sampled at the start
 * and end of the measurement window. Reported as CPU milliseconds per 1,000 events, so a reader
 * sees which component bounds throughput on this machine. Elsewhere than Linux it reports nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuGroups {
  /** Label → process ids (their threads included). */
  pids: Record<string, number[]>;
  /** Label → command names (`/proc/<pid>/comm`), every matching process. */
  commands: Record<string, string[]>;
}

interface Sample {
  at: number;
  byLabel: Record<string, number>;
  self: number;
  machineBusy: number;
}

const TICK_MS = 10; // USER_HZ is 100 on every Linux Node supports

function procTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime
  } catch {
    return 0;
  }
}

function machineBusyTicks(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    return cpu.slice(0, 8).reduce((a, b) => a + b, 0) - idle;
  } catch {
    return 0;
  }
}

function pidsByCommand(names: string[]): number[] {
  const out: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${e}/comm`, 'utf8').trim())) out.push(Number(e));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/**
 * CPU ms of one thread of a process (`/proc/<pid>/task/<tid>/stat`); the main thread's id is the
 * process id. A Node process's event loop runs on its main thread, so this is the event loop's
 * CPU, apart from the threads that compile, collect garbage or write files for it.
 */
export function threadCpuMs(pid: number, tid = pid): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

export function sampleCpu(groups: CpuGroups): Sample {
  const byLabel: Record<string, number> = {};
  for (const [label, pids] of Object.entries(groups.pids)) byLabel[label] = pids.reduce((s, p) => s + procTicks(p), 0) * TICK_MS;
  for (const [label, names] of Object.entries(groups.commands)) byLabel[label] = pidsByCommand(names).reduce((s, p) => s + procTicks(p), 0) * TICK_MS;
  const self = process.cpuUsage();
  return { at: performance.now(), byLabel, self: (self.user + self.system) / 1000, machineBusy: machineBusyTicks() * TICK_MS };
}

/**
 * CPU ms per 1,000 events between two samples, per label, plus `load generator` (this process),
 * `other` (the rest of the machine's busy time: other users' work, the kernel) and `total`.
 */
export function cpuPerThousand(a: Sample, b: Sample, events: number): Record<string, number> {
  if (events <= 0 || b.machineBusy === 0) return {};
  const per = (ms: number) => Math.round((ms / events) * 1000 * 100) / 100;
  const out: Record<string, number> = {};
  let known = 0;
  for (const label of Object.keys(b.byLabel)) {
    // A process-name group can lose a process between samples (a backend that exited): never negative.
    const ms = Math.max(0, b.byLabel[label]! - (a.byLabel[label] ?? 0));
    known += ms;
    out[label] = per(ms);
  }
  const self = b.self - a.self;
  known += self;
  out['load generator'] = per(self);
  const busy = b.machineBusy - a.machineBusy;
  out.other = per(Math.max(0, busy - known));
  out.total = per(busy);
  return out;
}
