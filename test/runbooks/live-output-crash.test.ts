/**
 * kill -9 of a real Keel process while a `command` step runs and its output so far is shown live:
 * after the restart a step that is not safe to repeat is not run again (it waits, outcome unknown,
 * with what it printed shown as partial) until a person retries or skips it, which replaces or
 * clears that output; a step that is safe to repeat runs once more by itself and its recorded
 * output replaces the partial one. The command prints a line, then waits for a file the test
 * creates: the kill lands mid-step by construction, not by timing.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { keel } from '../helpers/cli.js';
import { http } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';
import { killGroups, runEnded, shellRunbook, shellRunbookKeel } from '../helpers/runbooks.js';

const procs: KeelProcess[] = [];
let root = '';
/** Process groups of the commands (each runs in its own group; its shell's pid is the group's id). */
const groups = (dir: string) => (existsSync(join(dir, 'pids')) ? readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number) : []);
const killGroupsIn = (dir: string) => killGroups(groups(dir));
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL').catch(() => undefined);
  if (root) for (const name of ['retried', 'skipped', 'again1', 'again2']) killGroupsIn(join(root, name));
  if (root) rmSync(root, { recursive: true, force: true });
});

// Each attempt appends its pid and a line to `count`, prints which attempt it is, waits for `gate`,
// prints a second line and leaves `second-half.N`: the files say how often and how far it ran.
const script = [
  'echo $$ >> "$DIR/pids"',
  'echo ran >> "$DIR/count"',
  'n=$(($(wc -l < "$DIR/count")))',
  'echo "first line of attempt $n"',
  'while [ ! -e "$DIR/gate" ]; do sleep 0.05; done',
  'echo "second line of attempt $n"',
  'touch "$DIR/second-half.$n"',
].join('; ');
const runbook = (name: string, safeToRepeat: boolean) => shellRunbook(name, safeToRepeat, script);

const lines = (dir: string) => (existsSync(join(dir, 'count')) ? readFileSync(join(dir, 'count'), 'utf8').split('\n').filter(Boolean).length : 0);
const events = (run: { journal: { event: string; step: string | null }[] }) => run.journal.map((j) => `${j.event}${j.step ? ` ${j.step}` : ''}`);

describe('live output of a command step across kill -9', () => {
  it('keeps the interrupted output as partial until a person decides or the safe rerun records the step again; nothing unsafe runs twice', async () => {
    const started = await shellRunbookKeel('live-crash');
    root = started.root;
    const { dataDir } = started;
    const dirs = { retried: join(root, 'retried'), skipped: join(root, 'skipped'), again1: join(root, 'again1'), again2: join(root, 'again2') };
    for (const d of Object.values(dirs)) mkdirSync(d);

    const first = started.keel;
    procs.push(first);
    const key = first.adminKey;
    let keelNow = first;
    const call = async (path: string, json?: unknown) => http(`${keelNow.url}${path}`, { key, ...(json !== undefined ? { json } : {}) });
    const runOf = async (id: string) => {
      const r = await call(`/v1/runbooks/runs/${id}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    };

    const applied = await call('/v1/definitions/apply', { sources: [{ file: 'rb.yaml', content: [runbook('once', false), runbook('again', true)].join('---\n') }] });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const ids = {} as Record<keyof typeof dirs, string>;
    for (const [name, book] of [
      ['retried', 'once'],
      ['skipped', 'once'],
      ['again1', 'again'],
      ['again2', 'again'],
    ] as const) {
      const r = await call(`/v1/runbooks/${book}/runs`, { params: { dir: dirs[name] } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      ids[name] = r.body.id;
    }

    // Mid-step: every command printed its first line, shown live, and waits for its gate.
    for (const name of Object.keys(dirs) as (keyof typeof dirs)[]) {
      await waitFor(`the first line of ${name} as live output`, async () => (await runOf(ids[name])).steps[0].live_output?.stdout === 'first line of attempt 1\n');
    }
    // Just before the kill: still running, the first line live, the second half not run.
    for (const name of Object.keys(dirs) as (keyof typeof dirs)[]) {
      const r = await runOf(ids[name]);
      expect(r).toMatchObject({ status: 'running', phase: 'started', current_step: 'work' });
      expect(r.steps[0]).toMatchObject({ name: 'work', status: 'running', attempts: 1, finished_at: null, live_output: { stdout: 'first line of attempt 1\n', stderr: '' } });
      expect(r.steps[0]).not.toHaveProperty('output');
      expect(existsSync(join(dirs[name], 'second-half.1'))).toBe(false);
    }

    await first.stop('SIGKILL');
    // Each command runs in its own process group, which a kill of Keel alone leaves behind; a
    // supervisor ends them with it (systemd's default KillMode=control-group, a container's end).
    for (const d of Object.values(dirs)) killGroupsIn(d);
    for (const d of Object.values(dirs)) expect(lines(d)).toBe(1);

    // One run at a time after the restart: of the two recovered runs that are safe to repeat, one
    // reruns (and waits for its gate) while the other waits for its turn, observably.
    writeFileSync(join(dataDir, 'keel.yaml'), 'runbooks:\n  pollInterval: 50ms\n  commands: [/bin/sh]\n  concurrency: 1\n');
    const second = await spawnKeel({ dataDir, adminKey: key });
    procs.push(second);
    keelNow = second;

    // (a) Not safe to repeat: not run again; outcome unknown, waiting for a person, with what it
    // printed before the kill still shown (the step's status `unknown` marks it partial).
    for (const name of ['retried', 'skipped'] as const) {
      const r = await waitFor(`${name} to wait for a person`, async () => {
        const run = await runOf(ids[name]);
        return run.phase === 'unknown' ? run : undefined;
      });
      expect(r).toMatchObject({ status: 'waiting', phase: 'unknown', current_step: 'work' });
      expect(r.steps).toEqual([
        {
          name: 'work',
          status: 'unknown',
          attempts: 1,
          started_at: r.steps[0].started_at,
          finished_at: null,
          live_output: { stdout: 'first line of attempt 1\n', stderr: '', updated_at: r.steps[0].live_output.updated_at },
        },
      ]);
      expect(r.steps[0].live_output.updated_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(events(r)).toEqual(['run.created', 'step.started work', 'step.outcome_unknown work']);
    }
    const shown = await keel(['runbooks', 'show', ids.retried], { url: second.url, key });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`run ${ids.retried} of once: waiting`);
    expect(shown.stdout).toContain(`step work's outcome is unknown: keel runbooks decide ${ids.retried} retry|skip|abort`);
    expect(shown.stdout).toMatch(/step work, output printed before Keel stopped \(partial, updated \d{4}-[^)]+\):\n {2}first line of attempt 1\n/);
    expect(shown.stdout).not.toContain('(live');

    // (b) Safe to repeat: run again by itself, one of the two first (attempt 2, shown live while it
    // waits for its gate); the other, not running yet, shows what attempt 1 printed, as partial.
    const firstRerun = await waitFor<'again1' | 'again2'>('a repeatable step to run again', async () => {
      for (const name of ['again1', 'again2'] as const) if ((await runOf(ids[name])).steps[0].live_output?.stdout === 'first line of attempt 2\n') return name;
      return undefined;
    });
    const secondRerun = firstRerun === 'again1' ? 'again2' : 'again1';
    const rerunning = await runOf(ids[firstRerun]);
    expect(rerunning).toMatchObject({ status: 'running', phase: 'started' });
    expect(rerunning.steps[0]).toMatchObject({ status: 'running', attempts: 2 });
    const waiting = await runOf(ids[secondRerun]);
    expect(waiting).toMatchObject({ status: 'running', phase: 'ready', current_step: 'work' });
    expect(waiting.steps).toEqual([
      {
        name: 'work',
        status: 'pending',
        attempts: 1,
        started_at: waiting.steps[0].started_at,
        finished_at: null,
        live_output: { stdout: 'first line of attempt 1\n', stderr: '', updated_at: waiting.steps[0].live_output.updated_at },
      },
    ]);
    const waitingShown = await keel(['runbooks', 'show', ids[secondRerun]], { url: second.url, key });
    expect(waitingShown.stdout).toMatch(/step work, output printed before Keel stopped \(partial, updated \d{4}-[^)]+\):\n {2}first line of attempt 1\n/);
    expect(lines(dirs[secondRerun])).toBe(1);

    for (const name of [firstRerun, secondRerun] as const) {
      if (name === secondRerun) {
        await waitFor(`${name} to run again`, async () => (await runOf(ids[name])).steps[0].live_output?.stdout === 'first line of attempt 2\n');
      }
      writeFileSync(join(dirs[name], 'gate'), '');
      const repeated = await runEnded(runOf, ids[name]);
      expect(repeated.status).toBe('succeeded');
      expect(repeated.steps).toEqual([
        {
          name: 'work',
          status: 'succeeded',
          attempts: 2,
          started_at: repeated.steps[0].started_at,
          finished_at: repeated.steps[0].finished_at,
          output: { exit_code: 0, stdout: 'first line of attempt 2\nsecond line of attempt 2\n', stderr: '' },
        },
      ]);
      expect(events(repeated)).toEqual(['run.created', 'step.started work', 'step.interrupted work', 'step.started work', 'step.succeeded work', 'run.succeeded']);
      expect(lines(dirs[name])).toBe(2);
      expect(existsSync(join(dirs[name], 'second-half.1'))).toBe(false);
      expect(existsSync(join(dirs[name], 'second-half.2'))).toBe(true);
    }

    // Meanwhile the steps that are not safe to repeat were not run again.
    for (const name of ['retried', 'skipped'] as const) {
      expect((await runOf(ids[name])).phase).toBe('unknown');
      expect(lines(dirs[name])).toBe(1);
      expect(existsSync(join(dirs[name], 'second-half.1'))).toBe(false);
    }

    // A person retries one: attempt 2 runs (its own output live), and its recorded output replaces the partial one.
    const retry = await keel(['runbooks', 'decide', ids.retried, 'retry'], { url: second.url, key });
    expect(retry.code, retry.stderr).toBe(0);
    const retrying = await waitFor('the retried step to run', async () => {
      const run = await runOf(ids.retried);
      return run.steps[0].live_output?.stdout === 'first line of attempt 2\n' ? run : undefined;
    });
    expect(retrying.steps[0]).toMatchObject({ status: 'running', attempts: 2 });
    writeFileSync(join(dirs.retried, 'gate'), '');
    const retried = await runEnded(runOf, ids.retried);
    expect(retried.status).toBe('succeeded');
    expect(retried.steps).toEqual([
      {
        name: 'work',
        status: 'succeeded',
        attempts: 2,
        started_at: retried.steps[0].started_at,
        finished_at: retried.steps[0].finished_at,
        output: { exit_code: 0, stdout: 'first line of attempt 2\nsecond line of attempt 2\n', stderr: '' },
      },
    ]);
    expect(events(retried)).toEqual(['run.created', 'step.started work', 'step.outcome_unknown work', 'step.retry work', 'step.started work', 'step.succeeded work', 'run.succeeded']);
    expect(lines(dirs.retried)).toBe(2);
    expect(existsSync(join(dirs.retried, 'second-half.1'))).toBe(false);
    expect(existsSync(join(dirs.retried, 'second-half.2'))).toBe(true);

    // A person skips the other: the partial output is gone, the step is not run again.
    expect((await call(`/v1/runbooks/runs/${ids.skipped}/decide`, { decision: 'skip' })).status).toBe(200);
    const skipped = await runEnded(runOf, ids.skipped);
    expect(skipped.status).toBe('succeeded');
    expect(skipped.steps).toEqual([{ name: 'work', status: 'skipped', attempts: 1, started_at: skipped.steps[0].started_at, finished_at: skipped.steps[0].finished_at }]);
    expect(events(skipped)).toEqual(['run.created', 'step.started work', 'step.outcome_unknown work', 'step.skip work', 'run.succeeded']);
    expect(lines(dirs.skipped)).toBe(1);
    expect(existsSync(join(dirs.skipped, 'second-half.1'))).toBe(false);

    for (const name of ['retried', 'skipped'] as const) {
      const after = await keel(['runbooks', 'show', ids[name]], { url: second.url, key });
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout).not.toContain('first line of attempt 1');
      expect(after.stdout).not.toContain('partial');
    }

    // Live output is never journaled or audited; the journal and the audit chain agree, and the chain verifies.
    const audit = await call('/v1/audit?limit=1000');
    for (const id of Object.values(ids)) {
      const run = await runOf(id);
      const entries = audit.body.entries.filter((e: { target: string }) => e.target.startsWith(`runbook-run/${id}`));
      expect(entries.map((e: { action: string }) => e.action)).toEqual(run.journal.map((j: { event: string }) => `runbooks.${j.event}`));
    }
    // (What attempt 1 printed was only ever live output; the audit has the final outputs, of attempt 2.)
    expect(JSON.stringify(audit.body)).not.toContain('first line of attempt 1');
    expect((await call('/v1/audit/verify')).body.ok).toBe(true);
  }, 180_000);
});
