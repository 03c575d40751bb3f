/**
 * Which leftover command a restarted Keel kills (runbooks/leftover-process.ts): only the recorded
 * process group of this machine and boot, never a process that merely reuses its pid. /proc and
 * kill are injected; the last test reads the real /proc.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { endLeftover, startTicksOf, stepProcess, type StepProcess } from '../../src/runbooks/leftover-process.js';

const BOOT = 'a3c1a7e2-0d4b-4a58-9a57-3f1b9f0e6d21';
/** A /proc/<pid>/stat line of pid 4242 started at `ticks`, its name holding a space and parentheses. */
const stat = (ticks: number, pid = 4242, state = 'S', group = 4242) =>
  `${pid} (my (odd) cmd) ${state} 1 ${group} ${group} 0 -1 4194560 123 0 0 0 1 2 0 0 20 0 1 0 ${ticks} 1234567 89 18446744073709551615`;
const recorded: StepProcess = { pid: 4242, bootId: BOOT, startTicks: 987654 };

/** A /proc of these files: `list` names the pids that have a stat. */
function fakeProc(files: Record<string, string>) {
  const read = (path: string) => {
    const f = files[path];
    if (f === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return f;
  };
  const list = () => ['self', 'sys', ...Object.keys(files).flatMap((k) => /^\/proc\/(\d+)\/stat$/.exec(k)?.[1] ?? [])];
  return { read, list };
}

function recorder() {
  const calls: [number, NodeJS.Signals][] = [];
  return { calls, kill: (pid: number, signal: NodeJS.Signals) => void calls.push([pid, signal]) };
}

describe('a leftover command step process', () => {
  it('reads the start time after the command name, whatever the name holds', () => {
    expect(startTicksOf(stat(987654))).toBe(987654);
    expect(startTicksOf('garbage')).toBeUndefined();
  });

  it('identifies a process by this boot and its start time, or not at all', () => {
    const { read } = fakeProc({ '/proc/sys/kernel/random/boot_id': `${BOOT}\n`, '/proc/4242/stat': stat(987654), '/proc/77/stat': 'garbage' });
    expect(stepProcess(4242, read)).toEqual(recorded);
    expect(stepProcess(77, read)).toBeUndefined();
    expect(stepProcess(78, read)).toBeUndefined();
    expect(stepProcess(4242, fakeProc({ '/proc/sys/kernel/random/boot_id': '\n', '/proc/4242/stat': stat(987654) }).read)).toBeUndefined();
  });

  it('kills the group when its leader is the recorded process', () => {
    const k = recorder();
    expect(endLeftover(recorded, { ...fakeProc({ '/proc/sys/kernel/random/boot_id': `${BOOT}\n`, '/proc/4242/stat': stat(987654) }), kill: k.kill })).toBe('killed');
    expect(k.calls).toEqual([[-4242, 'SIGKILL']]);
  });

  it('kills what is left of the group when its leader exited before its children', () => {
    const k = recorder();
    // Pid 5000 is a child the leader started, still in group 4242.
    expect(endLeftover(recorded, { ...fakeProc({ '/proc/sys/kernel/random/boot_id': BOOT, '/proc/5000/stat': stat(987700, 5000) }), kill: k.kill })).toBe('killed');
    expect(k.calls).toEqual([[-4242, 'SIGKILL']]);
  });

  it('leaves alone a process that reuses the pid (another start time): the recorded group ended', () => {
    const k = recorder();
    expect(endLeftover(recorded, { ...fakeProc({ '/proc/sys/kernel/random/boot_id': BOOT, '/proc/4242/stat': stat(1_000_001) }), kill: k.kill })).toBe('ended');
    expect(k.calls).toEqual([]);
  });

  it('says ended when nothing of the group runs, zombies and other groups aside', () => {
    const k = recorder();
    // Pid 6000 runs in another group, 6001 ended while listed; "self" (listed by /proc, not a pid) names a member of 4242.
    const others = { '/proc/sys/kernel/random/boot_id': BOOT, '/proc/6000/stat': stat(5, 6000, 'S', 1), '/proc/self/stat': stat(987700, 5001) };
    expect(endLeftover(recorded, { ...fakeProc(others), list: () => ['self', '6000', '6001'], kill: k.kill })).toBe('ended');
    expect(endLeftover(recorded, { ...fakeProc({ '/proc/sys/kernel/random/boot_id': BOOT, '/proc/5000/stat': stat(987700, 5000, 'Z') }), kill: k.kill })).toBe('ended');
    expect(k.calls).toEqual([]);
  });

  it('says ended when the group ends between the look and the kill', () => {
    const kill = () => {
      throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' });
    };
    expect(endLeftover(recorded, { ...fakeProc({ '/proc/sys/kernel/random/boot_id': BOOT, '/proc/4242/stat': stat(987654) }), kill })).toBe('ended');
  });

  it('kills nothing recorded on another machine or before a reboot, or where /proc cannot say', () => {
    const k = recorder();
    expect(endLeftover(recorded, { ...fakeProc({ '/proc/sys/kernel/random/boot_id': 'another-boot', '/proc/4242/stat': stat(987654) }), kill: k.kill })).toBe('elsewhere');
    expect(endLeftover(recorded, { ...fakeProc({}), kill: k.kill })).toBe('elsewhere');
    expect(k.calls).toEqual([]);
  });

  it('identifies and then ends a real process group of this machine', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30'], { detached: true, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    const identity = stepProcess(child.pid!);
    expect(identity).toMatchObject({ pid: child.pid, bootId: expect.stringMatching(/^[0-9a-f-]{36}$/), startTicks: expect.any(Number) });
    expect(endLeftover(identity!)).toBe('killed');
    expect(await exited).toBe('SIGKILL');
    // The background sleep was in the group too: nothing of it runs any more (a zombie at most,
    // where init does not reap).
    await expect.poll(() => endLeftover(identity!), { timeout: 5_000 }).toBe('ended');
  });
});
