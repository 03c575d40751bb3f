/**
 * Live output of a running command step, through the API and `keel runbooks show`: what the
 * command printed so far shows under the running step (secrets redacted) before it ends, and its
 * recorded output replaces it when it does; the journal and the audit chain get the result only.
 * The command prints a line, then waits for a file the test creates once it has seen that line,
 * then prints another: driven by conditions, not by timing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';
import { runEnded } from '../helpers/runbooks.js';

let t: TestKeel;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-live-output-'));
  t = await startTestKeel({ runbooks: { pollInterval: '50ms', commands: ['/bin/sh'], maxOutputBytes: 1024 } });
  const s = await http(`${t.url}/v1/paging/secrets`, { key: t.adminKey, json: { name: 'live-token', value: 'tok-LIVE-24680' } });
  expect(s.status).toBeLessThan(300);
  const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: two-lines}
spec:
  parameters:
    gate: {type: string, required: true}
  steps:
    - name: talk
      timeout: 2m
      command:
        argv: [/bin/sh, -c, 'echo "first line $TOKEN"; echo "to stderr" >&2; while [ ! -e "$GATE" ]; do sleep 0.05; done; echo "second line"']
        env: {GATE: "{{ params.gate }}", TOKEN: "{{ secrets.live-token }}"}
`;
  const r = await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: 'live.yaml', content: yaml }] } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => keel(args, { url: t.url, key: t.adminKey });
const runOf = async (id: string) => (await http(`${t.url}/v1/runbooks/runs/${id}`, { key: t.adminKey })).body;

describe('live output of a running command step', () => {
  it('shows the first line while the step runs, not the second; the recorded output replaces it at the end', async () => {
    const gate = join(dir, 'gate');
    const started = await cli(['runbooks', 'run', 'two-lines', '-p', `gate=${gate}`, '--json']);
    expect(started.code, started.stderr).toBe(0);
    const id = JSON.parse(started.stdout).id as string;

    const running = await waitFor('the first line as live output', async () => {
      const r = await runOf(id);
      return r.steps[0].live_output?.stdout ? r : undefined;
    });
    // Still running (the command waits for the gate, which does not exist yet).
    expect(running).toMatchObject({ status: 'running', phase: 'started', current_step: 'talk' });
    expect(running.steps[0]).toMatchObject({ name: 'talk', status: 'running', attempts: 1, finished_at: null });
    expect(running.steps[0]).not.toHaveProperty('output');
    expect(running.steps[0].live_output.stdout).toBe('first line [redacted]\n');
    expect(running.steps[0].live_output.updated_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(JSON.stringify(running)).not.toContain('second line');
    expect(JSON.stringify(running)).not.toContain('tok-LIVE');
    // Live reports are not journaled (nor audited): the journal has the step's start only.
    expect(running.journal.map((j: { event: string }) => j.event)).toEqual(['run.created', 'step.started']);

    const stderrToo = await waitFor('stderr in the live output', async () => {
      const r = await runOf(id);
      return r.steps[0].live_output?.stderr ? r : undefined;
    });
    expect(stderrToo.steps[0].live_output).toMatchObject({ stdout: 'first line [redacted]\n', stderr: 'to stderr\n' });

    const show = await cli(['runbooks', 'show', id]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`run ${id} of two-lines: running`);
    expect(show.stdout).toMatch(/step talk, output so far \(live, updated \d{4}-[^)]+\):\n {2}first line \[redacted\]\nstderr:\n {2}to stderr\n/);
    expect(show.stdout).not.toContain('second line');

    writeFileSync(gate, '');
    const done = await runEnded(runOf, id);
    expect(done.status).toBe('succeeded');
    expect(done.steps).toEqual([
      {
        name: 'talk',
        status: 'succeeded',
        attempts: 1,
        started_at: done.steps[0].started_at,
        finished_at: done.steps[0].finished_at,
        output: { exit_code: 0, stdout: 'first line [redacted]\nsecond line\n', stderr: 'to stderr\n' },
      },
    ]);
    expect(done.journal.map((j: { event: string }) => j.event)).toEqual(['run.created', 'step.started', 'step.succeeded', 'run.succeeded']);
    const audit = await http(`${t.url}/v1/audit?limit=1000`, { key: t.adminKey });
    const entries = audit.body.entries.filter((e: { target: string }) => e.target.startsWith(`runbook-run/${id}`));
    expect(entries.map((e: { action: string }) => e.action)).toEqual(['runbooks.run.created', 'runbooks.step.started', 'runbooks.step.succeeded', 'runbooks.run.succeeded']);
    const after = await cli(['runbooks', 'show', id]);
    expect(after.stdout).not.toContain('output so far');
  });
});
