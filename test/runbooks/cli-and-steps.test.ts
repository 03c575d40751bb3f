/** `keel runbooks …` commands, and the command, condition and wait steps, on a real embedded Keel. */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';
import { runEnded } from '../helpers/runbooks.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel({ runbooks: { pollInterval: '50ms', commands: ['/bin/echo', '/bin/sh'], maxOutputBytes: 1024 } });
  const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: echo}
spec:
  parameters:
    who: {type: string, required: true}
    loud: {type: bool, default: false}
  steps:
    - name: say
      command:
        argv: [/bin/echo, "hello {{ params.who }}"]
      safeToRepeat: true
    - name: loud
      condition: {if: "params.loud == true", else: pause}
    - name: shout
      command:
        argv: [/bin/sh, -c, "echo HELLO; exit 3"]
    - name: pause
      wait: {duration: 10ms}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: forbidden}
spec:
  steps:
    - name: rm
      command:
        argv: [/bin/rm, -rf, /tmp/nothing-here]
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: hangs}
spec:
  steps:
    - name: stuck
      timeout: 1s
      command:
        argv: [/bin/sh, -c, "sleep 31.25; echo never"]
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: noisy}
spec:
  steps:
    - name: big
      command:
        argv: [/bin/sh, -c, "head -c 5000 /dev/zero | tr '\\\\0' x"]
`;
  const r = await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: 'rb.yaml', content: yaml }] } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

const cli = (args: string[]) => keel(args, { url: t.url, key: t.adminKey });

const ended = (id: string) => runEnded(async (run) => (await http(`${t.url}/v1/runbooks/runs/${run}`, { key: t.adminKey })).body, id);

describe('keel runbooks and step kinds', () => {
  it('dry-runs with --param and shows each step resolved, running nothing', async () => {
    const r = await cli(['runbooks', 'run', 'echo', '--param', 'who=ann', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.params).toEqual({ who: 'ann', loud: false });
    expect(body.steps.map((s: { name: string; kind: string }) => `${s.name}:${s.kind}`)).toEqual(['say:command', 'loud:condition', 'shout:command', 'pause:wait']);
    expect(body.steps[0].resolved.argv).toEqual(['/bin/echo', 'hello ann']);
    expect((await cli(['runbooks', 'runs', '--json'])).stdout).toBe('{\n  "runs": []\n}\n');
  });

  it('refuses a bad parameter from the command line with its name (exit 1)', async () => {
    const r = await cli(['runbooks', 'run', 'echo', '--param', 'loud=maybe']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('params.who: required');
    expect(r.stderr).toContain('params.loud: true or false, not "maybe"');
  });

  it('runs a command step (argv, no shell), skips by a false condition, waits, and shows the run', async () => {
    const r = await cli(['runbooks', 'run', 'echo', '-p', 'who=ann; rm -rf /', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const run = await ended(JSON.parse(r.stdout).id);
    expect(run.status).toBe('succeeded');
    // One argv element, not a shell line: the text is echoed as it is.
    expect(run.steps[0].output).toEqual({ exit_code: 0, stdout: 'hello ann; rm -rf /\n', stderr: '' });
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'succeeded', 'skipped', 'succeeded']);
    expect(run.steps[1].output).toEqual({ result: false });
    const show = await cli(['runbooks', 'show', run.id]);
    expect(show.stdout).toContain(`run ${run.id} of echo: succeeded`);
    expect(show.stdout).toContain('step.skipped');
  });

  it('fails a run whose command exits non-zero, with the exit code and output', async () => {
    const r = await cli(['runbooks', 'run', 'echo', '-p', 'who=bob', '-p', 'loud=true', '--json']);
    const run = await ended(JSON.parse(r.stdout).id);
    expect(run).toMatchObject({ status: 'failed', error: 'step shout failed: exit code 3' });
    expect(run.steps[2].output).toEqual({ exit_code: 3, stdout: 'HELLO\n', stderr: '' });
  });

  it('refuses an executable that is not on the deployment allow-list, and bounds the output', async () => {
    const run = await ended((await http(`${t.url}/v1/runbooks/forbidden/runs`, { key: t.adminKey, json: {} })).body.id);
    expect(run.error).toBe('step rm failed: "/bin/rm" is not on this deployment\'s allow-list of commands (runbooks.commands: /bin/echo, /bin/sh)');
    const noisy = await ended((await http(`${t.url}/v1/runbooks/noisy/runs`, { key: t.adminKey, json: {} })).body.id);
    expect(noisy.status).toBe('succeeded');
    expect(noisy.steps[0].output.stdout).toBe(`${'x'.repeat(1024)}… [truncated]`);
  });

  it('kills a command at its step timeout, children too, and waits for a person (outcome unknown)', async () => {
    const id = (await http(`${t.url}/v1/runbooks/hangs/runs`, { key: t.adminKey, json: {} })).body.id as string;
    const run = await waitFor(`run ${id} to stop at the timed-out step`, async () => {
      const r = await http(`${t.url}/v1/runbooks/runs/${id}`, { key: t.adminKey });
      return r.body.steps?.[0]?.status !== 'running' && r.body.steps?.[0]?.status !== 'pending' ? r.body : undefined;
    });
    expect(run.steps[0].error ?? run.error).toContain('timed out after 1000 ms');
    // Not safe to repeat: the run is not failed or retried silently, a person decides.
    expect(run.status).not.toBe('succeeded');
    expect(JSON.stringify(run)).toMatch(/unknown/);
    // The shell's child is gone too: nothing of the step keeps running after its timeout.
    const ps = execFileSync('/bin/ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes('sleep 31.25'))).toEqual([]);
  });

  it('lists runs, and counts them in the toil ledger', async () => {
    const runs = JSON.parse((await cli(['runbooks', 'runs', '--runbook', 'echo', '--json'])).stdout).runs;
    expect(runs).toHaveLength(2);
    const toil = JSON.parse((await cli(['runbooks', 'toil', '--since', '30d', '--json'])).stdout);
    expect(toil.runbooks.find((r: { runbook: string }) => r.runbook === 'echo')).toMatchObject({ team: 'default', runs: 2, manual_runs: 2, automatic_runs: 0, succeeded: 1, failed: 1 });
  });

  it('approves and aborts from the CLI, gives a command its parameters and secrets as environment, branches on its output, and ranks hand-approved runbooks first in the toil ledger', async () => {
    const s = await http(`${t.url}/v1/paging/secrets`, { key: t.adminKey, json: { name: 'cli-token', value: 'tok-CLI-98765' } });
    expect(s.status).toBeLessThan(300);
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: gated}
spec:
  parameters:
    who: {type: string, required: true}
  steps:
    - name: confirm
      approval: {role: admin}
      timeout: 1h
    - name: greet
      command:
        argv: [/bin/sh, -c, 'echo "$WHO $TOKEN"']
        env: {WHO: "{{ params.who }}", TOKEN: "{{ secrets.cli-token }}"}
    - name: failed
      condition: {if: "steps.greet.output.exit_code != 0", else: end}
    - name: alarm
      wait: {duration: 10ms}
`;
    const a = await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: 'gated.yaml', content: yaml }] } });
    expect(a.status, JSON.stringify(a.body)).toBe(200);

    const started = await cli(['runbooks', 'run', 'gated', '-p', 'who=ann', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const id = JSON.parse(started.stdout).id;
    expect(JSON.parse(started.stdout)).toMatchObject({ status: 'waiting', phase: 'approval', current_step: 'confirm' });
    await new Promise((r) => setTimeout(r, 1_100)); // a person takes their time: the ledger counts it
    const approved = await cli(['runbooks', 'approve', id]);
    expect(approved.code, approved.stderr).toBe(0);
    const run = await ended(id);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0].output.approved_by).toMatch(/^key:/);
    // The secret reached the command (it printed it) and is redacted in what Keel recorded.
    expect(run.steps[1].output).toEqual({ exit_code: 0, stdout: 'ann [redacted]\n', stderr: '' });
    expect(JSON.stringify(run)).not.toContain('tok-CLI');
    // A condition over an earlier step's output: exit code 0, so the run skips to its end.
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'skipped']);
    expect(run.steps[2].output).toEqual({ result: false });

    const other = JSON.parse((await cli(['runbooks', 'run', 'gated', '-p', 'who=bob', '--json'])).stdout).id;
    const aborted = await cli(['runbooks', 'abort', other, '--reason', 'not today', '--json']);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(JSON.parse(aborted.stdout).status).toBe('aborted');

    const toil = JSON.parse((await cli(['runbooks', 'toil', '--since', '30d', '--json'])).stdout);
    const gated = toil.runbooks.find((r: { runbook: string }) => r.runbook === 'gated');
    expect(gated).toMatchObject({ team: 'default', runs: 2, manual_runs: 2, automatic_runs: 0, succeeded: 1, failed: 1, hand_approved_steps: 1, person_decisions: 0 });
    expect(gated.waiting_seconds).toBeGreaterThanOrEqual(1);
    expect(gated.waiting_seconds).toBeLessThan(60);
    // score = manual runs + hand-approved steps + decisions + hours waited: gated 3, echo 2, the others 1 (ties by name).
    expect(toil.runbooks.map((r: { runbook: string; score: number }) => `${r.runbook}:${r.score}`)).toEqual(['gated:3', 'echo:2', 'forbidden:1', 'hangs:1', 'noisy:1']);
  });
  // Last: its run of echo would change the counts the tests above expect.
  it('ties a run to an incident with --incident: the run names it, the incident’s timeline shows the run’s entries', async () => {
    const inc = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'echo drill', severity: 'SEV3', page: false } });
    expect(inc.status, inc.text).toBe(201);
    const r = await cli(['runbooks', 'run', 'echo', '-p', 'who=inc', '--incident', String(inc.body.number), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const started = JSON.parse(r.stdout);
    expect(started.incident).toEqual({ id: inc.body.id, number: inc.body.number });
    const run = await ended(started.id);
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'manual', incident: { id: inc.body.id, number: inc.body.number } });
    const show = await cli(['runbooks', 'show', run.id]);
    expect(show.stdout).toContain(`, incident #${inc.body.number}\n`);
    const timeline = await http(`${t.url}/v1/incidents/${inc.body.number}/timeline?type=runbook`, { key: t.adminKey });
    expect(timeline.status, timeline.text).toBe(200);
    const entries = timeline.body.timeline as { message: string; data: { run_id: string; event: string; step?: string } }[];
    expect(entries.map((e) => e.message)).toEqual([
      'Runbook echo: run created',
      'Runbook echo: step succeeded say',
      'Runbook echo: step succeeded loud',
      'Runbook echo: step succeeded pause',
      'Runbook echo: run succeeded',
    ]);
    expect(entries.every((e) => e.data.run_id === run.id)).toBe(true);
    // The same entries as the run's journal holds for them.
    const journaled = run.journal.filter((j: { event: string }) => entries.some((e) => e.data.event === j.event)).map((j: { event: string; step: string | null }) => `${j.event} ${j.step ?? ''}`);
    expect(entries.map((e) => `${e.data.event} ${e.data.step ?? ''}`)).toEqual(journaled);
    // An unknown incident: refused from the command line, nothing started.
    const bad = await cli(['runbooks', 'run', 'echo', '-p', 'who=x', '--incident', '99999']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('99999');
  });
});
