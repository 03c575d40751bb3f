/**
 * kill -9 of a real Keel started outside any supervisor, while `command` steps run: their process
 * groups outlive Keel. The restarted Keel ends them before it decides about the steps, so a step
 * safe to repeat never runs beside its first attempt, and one that is not safe waits for a person
 * with nothing of it still running. Each command leaves a background `sleep` in its group too,
 * and waits for a file the test creates: the kill lands mid-step by construction, not by timing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { http } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';
import { killGroups, runEnded, shellRunbook, shellRunbookKeel } from '../helpers/runbooks.js';

const procs: KeelProcess[] = [];
let root = '';

/** Pids of the shells each attempt ran (a shell's pid is its group's id), oldest first. */
const shells = (dir: string) => (existsSync(join(dir, 'pids')) ? readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number) : []);

/** Whether a process of group `pgid` runs (zombies, ended but not reaped, do not count). */
function groupRuns(pgid: number): boolean {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    } catch {
      // ended meanwhile
    }
  }
  return false;
}

/** The roots of tests after the first. */
const roots: string[] = [];

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL').catch(() => undefined);
  for (const r of roots) {
    killGroups(shells(join(r, 'rebooted')));
    rmSync(r, { recursive: true, force: true });
  }
  if (root) {
    for (const name of ['again', 'once']) killGroups(shells(join(root, name)));
    rmSync(root, { recursive: true, force: true });
  }
});

// Each attempt records its shell's pid, leaves a background sleep in its group, then waits for `gate`.
const script = 'echo $$ >> "$DIR/pids"; sleep 300 > /dev/null 2>&1 & echo "attempt $(wc -l < "$DIR/pids")"; while [ ! -e "$DIR/gate" ]; do sleep 0.05; done';
const runbook = (name: string, safeToRepeat: boolean) => shellRunbook(name, safeToRepeat, script);

describe('command steps a crashed Keel left running', () => {
  it('are ended by the restarted Keel before a rerun or a decision, and the rerun runs alone', async () => {
    const started = await shellRunbookKeel('leftover');
    root = started.root;
    const { dataDir } = started;
    const dirs = { again: join(root, 'again'), once: join(root, 'once') };
    for (const d of Object.values(dirs)) mkdirSync(d);

    const first = started.keel;
    procs.push(first);
    const key = first.adminKey;
    let keelNow = first;
    const call = async (path: string, json?: unknown) => http(`${keelNow.url}${path}`, { key, ...(json !== undefined ? { json } : {}) });
    const applied = await call('/v1/definitions/apply', { sources: [{ file: 'rb.yaml', content: [runbook('again', true), runbook('once', false)].join('---\n') }] });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const ids: Record<keyof typeof dirs, string> = { again: '', once: '' };
    for (const name of ['again', 'once'] as const) {
      const r = await call(`/v1/runbooks/${name}/runs`, { params: { dir: dirs[name] } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      ids[name] = r.body.id;
    }

    // Both commands run, and Keel recorded their process groups.
    const state = new Database(join(dataDir, 'state.db'), { readonly: true });
    await waitFor('both process groups recorded', () => {
      const rows = state.prepare('select step_process_json from runbook_runs where step_process_json is not null').all() as { step_process_json: string }[];
      return rows.length === 2 && shells(dirs.again).length === 1 && shells(dirs.once).length === 1;
    });
    state.close();
    const leftover = { again: shells(dirs.again)[0]!, once: shells(dirs.once)[0]! };

    await first.stop('SIGKILL');
    // Outside a supervisor the groups outlive Keel.
    expect(groupRuns(leftover.again)).toBe(true);
    expect(groupRuns(leftover.once)).toBe(true);

    const second = await spawnKeel({ dataDir, adminKey: key });
    procs.push(second);
    keelNow = second;
    const runOf = async (id: string) => (await call(`/v1/runbooks/runs/${id}`)).body;

    // Safe to repeat: attempt 2 starts, and by then nothing of attempt 1 runs.
    await waitFor('attempt 2 of the repeatable step', () => shells(dirs.again).length === 2);
    expect(groupRuns(leftover.again)).toBe(false);
    // Not safe to repeat: waits for a person, with nothing of attempt 1 running.
    await waitFor('the other step to wait for a person', async () => (await runOf(ids.once)).phase === 'unknown');
    expect(groupRuns(leftover.once)).toBe(false);
    expect(shells(dirs.once)).toHaveLength(1);

    writeFileSync(join(dirs.again, 'gate'), '');
    const done = await runEnded(runOf, ids.again);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0]).toMatchObject({ status: 'succeeded', attempts: 2, output: { exit_code: 0, stdout: 'attempt 2\n' } });
    expect(second.stderr()).toContain('killed the process group of a command step that a stopped Keel left running');
  }, 120_000);
  it('after a restart of this machine (another boot id on record), reruns a step that is safe to repeat: with SQLite no other machine ran it', async () => {
    const started = await shellRunbookKeel('rebooted');
    roots.push(started.root);
    const { dataDir, keel: first } = started;
    procs.push(first);
    const dir = join(started.root, 'rebooted');
    mkdirSync(dir);
    const key = first.adminKey;
    let keelNow = first;
    const call = async (path: string, json?: unknown) => http(`${keelNow.url}${path}`, { key, ...(json !== undefined ? { json } : {}) });
    expect((await call('/v1/definitions/apply', { sources: [{ file: 'rb.yaml', content: runbook('rebooted', true) }] })).status).toBe(200);
    const id = (await call('/v1/runbooks/rebooted/runs', { params: { dir } })).body.id as string;
    const state = new Database(join(dataDir, 'state.db'));
    const recorded = () => state.prepare('select step_process_json from runbook_runs where id = ?').get(id) as { step_process_json: string | null };
    await waitFor('the process group recorded', () => recorded().step_process_json !== null && shells(dir).length === 1);
    await first.stop('SIGKILL');
    // As after a reboot: the record names another boot of this machine.
    const p = JSON.parse(recorded().step_process_json!) as { bootId: string };
    state.prepare('update runbook_runs set step_process_json = ? where id = ?').run(JSON.stringify({ ...p, bootId: 'a-boot-before-the-restart' }), id);
    state.close();

    const second = await spawnKeel({ dataDir, adminKey: key });
    procs.push(second);
    keelNow = second;
    await waitFor('attempt 2 of the repeatable step', () => shells(dir).length === 2);
    writeFileSync(join(dir, 'gate'), '');
    const done = await runEnded(async (run: string) => (await call(`/v1/runbooks/runs/${run}`)).body, id);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(second.stderr()).toContain('a command step was interrupted by a restart of this machine; it ended with it');
  }, 120_000);
});
