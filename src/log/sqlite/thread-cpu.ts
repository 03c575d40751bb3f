/**
 * CPU time of the threads of this process, where the system tells it (Linux: the first two fields
 * of /proc/self/task/<thread>/schedstat, nanoseconds on a CPU and nanoseconds runnable but waiting
 * for one). `process.cpuUsage()` counts every thread of the process, so a worker cannot use it to
 * measure its own work while the others are busy, and it says nothing of waiting.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** This thread's id on Linux (/proc/thread-self names it), else undefined. */
export function ownThreadId(): number | undefined {
  try {
    const tid = Number(readFileSync('/proc/thread-self/stat', 'utf8').split(' ', 1)[0]);
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (ms) thread `tid` of this process has used, or undefined where it cannot be read. */
export function threadCpuMs(tid: number): number | undefined {
  return schedstat(tid)?.cpuMs;
}

function schedstat(tid: number | string): { cpuMs: number; waitMs: number } | undefined {
  try {
    const [cpu, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ', 2).map(Number);
    return Number.isFinite(cpu) && Number.isFinite(wait) ? { cpuMs: cpu! / 1e6, waitMs: wait! / 1e6 } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Time (ms) the process's threads other than `except` have waited for a CPU, summed; undefined
 * where it cannot be read. A thread that ended takes its share with it (the sum may go down).
 */
export function threadsWaitMs(except: number | undefined): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  let total = 0;
  let read = false;
  for (const tid of tids) {
    if (Number(tid) === except) continue;
    const s = schedstat(tid);
    if (!s) continue;
    total += s.waitMs;
    read = true;
  }
  return read ? total : undefined;
}
