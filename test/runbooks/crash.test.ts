/**
 * kill -9 of a real Keel process in the middle of a step and in the middle of an approval: after
 * the restart no step that is not safe to repeat runs twice (it waits, "outcome unknown", for a
 * person), a step that is safe to repeat runs again, every run ends definite, and the journal and
 * the audit chain agree.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { http } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';

const procs: KeelProcess[] = [];
const dirs: string[] = [];
let receiver: Server | undefined;
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL').catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
});

describe('runbook runs across kill -9', () => {
  it('resumes at the unfinished step: reruns what is safe to repeat, asks a person about the rest, keeps approvals', async () => {
    const hits = new Map<string, number>();
    const held: ServerResponse[] = [];
    let holding = true;
    receiver = createServer((req, res) => {
      hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
      req.resume();
      if (holding && req.url!.startsWith('/hold')) held.push(res);
      else res.end('{"ok":true}');
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
    const a = receiver.address();
    const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;

    const dir = mkdtempSync(join(tmpdir(), 'keel-runbook-crash-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'keel.yaml'), 'runbooks:\n  pollInterval: 50ms\n');
    const first = await spawnKeel({ dataDir: dir });
    procs.push(first);
    const key = first.adminKey;
    const call = (p: KeelProcess, path: string, json?: unknown) => http(`${p.url}${path}`, { key, ...(json !== undefined ? { json } : {}) });

    const runbook = (name: string, first: string) => `apiVersion: keel/v1
kind: Runbook
metadata: {name: ${name}}
spec:
  steps:
    - name: call
${first}
    - name: after
      http: {url: "${base}/after/${name}"}
      safeToRepeat: true
`;
    const yaml = [
      runbook('once', `      http: {method: POST, url: "${base}/hold/once", timeout: 1h}`.replace(', timeout: 1h}', '}\n      timeout: 1h')),
      runbook('repeatable', `      http: {url: "${base}/hold/repeatable"}\n      safeToRepeat: true\n      timeout: 1h`),
      runbook('approved', `      approval: {role: admin}\n      timeout: 1h`),
    ].join('---\n');
    const applied = await call(first, '/v1/definitions/apply', { sources: [{ file: 'rb.yaml', content: yaml }] });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);

    const ids: Record<string, string> = {};
    for (const name of ['once', 'repeatable', 'approved']) {
      const r = await call(first, `/v1/runbooks/${name}/runs`, {});
      expect(r.status).toBe(201);
      ids[name] = r.body.id;
    }
    // Mid-step: the receiver holds both requests, and the store says both steps started.
    await waitFor('both held requests', () => hits.get('/hold/once') === 1 && hits.get('/hold/repeatable') === 1);
    for (const name of ['once', 'repeatable']) {
      const r = await call(first, `/v1/runbooks/runs/${ids[name]}`);
      expect(r.body).toMatchObject({ status: 'running', phase: 'started', current_step: 'call' });
    }
    expect((await call(first, `/v1/runbooks/runs/${ids.approved}`)).body).toMatchObject({ status: 'waiting', phase: 'approval' });

    await first.stop('SIGKILL');
    holding = false;
    for (const res of held) res.destroy();

    const second = await spawnKeel({ dataDir: dir, adminKey: key });
    procs.push(second);

    // Safe to repeat: run again, and the run goes on.
    const repeated = await waitFor('the repeatable run to end', async () => {
      const r = await call(second, `/v1/runbooks/runs/${ids.repeatable}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    });
    expect(hits.get('/hold/repeatable')).toBe(2);
    expect(repeated.journal.map((j: { event: string }) => j.event)).toContain('step.interrupted');

    // Not safe to repeat: outcome unknown, waits for a person; never run again by itself.
    const unknown = await waitFor('the once run to wait for a person', async () => {
      const r = await call(second, `/v1/runbooks/runs/${ids.once}`);
      return r.body.phase === 'unknown' ? r.body : undefined;
    });
    expect(unknown).toMatchObject({ status: 'waiting', current_step: 'call' });
    expect(unknown.steps[0]).toMatchObject({ status: 'unknown', attempts: 1 });
    // The approval survived the crash as it was.
    expect((await call(second, `/v1/runbooks/runs/${ids.approved}`)).body).toMatchObject({ status: 'waiting', phase: 'approval' });
    expect(hits.get('/hold/once')).toBe(1);

    // A person decides: skip the step (it did reach the receiver), and approves the other run.
    expect((await call(second, `/v1/runbooks/runs/${ids.once}/decide`, { decision: 'skip' })).status).toBe(200);
    expect((await call(second, `/v1/runbooks/runs/${ids.approved}/approve`, {})).status).toBe(200);
    for (const name of ['once', 'approved']) {
      const done = await waitFor(`${name} to end`, async () => {
        const r = await call(second, `/v1/runbooks/runs/${ids[name]}`);
        return r.body.status === 'succeeded' ? r.body : undefined;
      });
      expect(done.steps.map((s: { status: string }) => s.status)).toEqual([name === 'once' ? 'skipped' : 'succeeded', 'succeeded']);
    }
    expect(hits.get('/hold/once')).toBe(1);
    expect(hits.get('/after/once')).toBe(1);
    expect(hits.get('/after/approved')).toBe(1);
    expect(hits.get('/after/repeatable')).toBe(1);

    // Every run definite; journal and audit chain agree entry for entry; the chain verifies.
    const audit = await call(second, '/v1/audit?limit=1000');
    for (const name of ['once', 'repeatable', 'approved']) {
      const run = (await call(second, `/v1/runbooks/runs/${ids[name]}`)).body;
      expect(['succeeded', 'failed', 'aborted']).toContain(run.status);
      const entries = audit.body.entries.filter((e: { target: string }) => e.target.startsWith(`runbook-run/${ids[name]}`));
      expect(entries.map((e: { action: string }) => e.action)).toEqual(run.journal.map((j: { event: string }) => `runbooks.${j.event}`));
    }
    const once = (await call(second, `/v1/runbooks/runs/${ids.once}`)).body;
    expect(once.journal.map((j: { event: string; step: string | null }) => `${j.event}${j.step ? ` ${j.step}` : ''}`)).toEqual([
      'run.created',
      'step.started call',
      'step.outcome_unknown call',
      'step.skip call',
      'step.started after',
      'step.succeeded after',
      'run.succeeded',
    ]);
    expect((await call(second, '/v1/audit/verify')).body.ok).toBe(true);
  });
});
