/**
 * A command step's process group, recorded while the step runs so that a Keel restarted after a
 * crash can end what the dead process left running before it decides about the step (a rerun of
 * a step safe to repeat would otherwise run beside the first attempt). Under systemd
 * (`KillMode=control-group`) or in a container the group already died with Keel; started any
 * other way it did not.
 *
 * A pid alone could name another process after a reboot or once pids wrap, so the record also
 * holds the machine's boot id and the process's start time (both from Linux's /proc): only a
 * process that matches all three is killed. Elsewhere (another machine took over in the
 * distributed mode, or no /proc) nothing is killed and the caller says so.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface StepProcess {
  /** The command's pid, which is also its process group's id (it was spawned detached). */
  pid: number;
  /** /proc/sys/kernel/random/boot_id: this machine, this boot. */
  bootId: string;
  /** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
  startTicks: number;
}

export type LeftoverOutcome = 'killed' | 'ended' | 'elsewhere';

/** The identity of a process of this machine, or undefined where /proc cannot say (not Linux, already gone). */
export function stepProcess(pid: number, read: (path: string) => string = readText): StepProcess | undefined {
  try {
    const startTicks = startTicksOf(read(`/proc/${pid}/stat`));
    const bootId = read('/proc/sys/kernel/random/boot_id').trim();
    return startTicks === undefined || !bootId ? undefined : { pid, bootId, startTicks };
  } catch {
    return undefined;
  }
}

/**
 * The start time in a /proc/<pid>/stat line. The command name (field 2) is in parentheses and may
 * hold spaces and parentheses itself, so fields are counted after its last ')'.
 */
export function startTicksOf(stat: string): number | undefined {
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // `after[0]` is field 3 (the state), so field 22 is at index 19.
  const ticks = Number(after[19]);
  return Number.isSafeInteger(ticks) ? ticks : undefined;
}

/** Reads and lists of /proc, and kill: the real ones, or a test's. */
export interface ProcAccess {
  read?: (path: string) => string;
  /** The pids /proc lists. */
  list?: () => string[];
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

/**
 * Kills the recorded process group if it is still the one recorded: `killed`; `ended` (nothing of
 * it runs); `elsewhere` (recorded on another machine or boot, or this one cannot tell: left alone).
 *
 * The group outlives its leader when the leader exits before its children. A pid is not reused
 * while a process group with that id exists (POSIX), so: a leader with another start time means
 * the group ended long ago; no leader but running members means what is left of the recorded one.
 * Members that are zombies (ended, not yet reaped by an init that never reaps) do not count.
 */
export function endLeftover(p: StepProcess, deps: ProcAccess = {}): LeftoverOutcome {
  const read = deps.read ?? readText;
  const list = deps.list ?? (() => readdirSync('/proc'));
  const kill = deps.kill ?? ((pid, signal) => process.kill(pid, signal));
  let bootId: string;
  try {
    bootId = read('/proc/sys/kernel/random/boot_id').trim();
  } catch {
    return 'elsewhere';
  }
  if (bootId !== p.bootId) return 'elsewhere';
  const leader = stepProcess(p.pid, read);
  if (leader && leader.startTicks !== p.startTicks) return 'ended';
  if (!groupRuns(p.pid, read, list)) return 'ended';
  try {
    kill(-p.pid, 'SIGKILL');
    return 'killed';
  } catch {
    return 'ended';
  }
}

/** Whether a process of group `pgid` runs (is not a zombie), from /proc/<pid>/stat's fields 3 and 5. */
function groupRuns(pgid: number, read: (path: string) => string, list: () => string[]): boolean {
  for (const pid of list()) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = read(`/proc/${pid}/stat`);
    } catch {
      continue; // ended while listed
    }
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(after[2]) === pgid && after[0] !== 'Z') return true;
  }
  return false;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
