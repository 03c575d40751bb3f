/**
 * Runbook runs in the distributed mode (two evaluators on the PostgreSQL and NATS of this machine):
 * the evaluator leading `runbooks` is SIGKILLed while two steps are in flight and an approval is
 * pending. The standby takes over: the step that is safe to repeat runs again, the one that is not
 * waits "outcome unknown" for a person, the approval is still pending, and every run ends definite
 * with its journal and the audit chain agreeing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_ADMIN_KEY, KeelCluster, tenuresOf, verifyCounts } from '../helpers/cluster.js';
import { cleanup, uniqueNames, type ClusterNames } from '../helpers/dist.js';
import { http } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';
import { killGroups, shellRunbook } from '../helpers/runbooks.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';

/** A command step's directory: its shells' pids (each its group's id), and the gate that ends it. */
const commandDir = mkdtempSync(join(tmpdir(), 'keel-rbk-cmd-'));
const shellPids = () => (existsSync(join(commandDir, 'pids')) ? readFileSync(join(commandDir, 'pids'), 'utf8').trim().split('\n').map(Number) : []);

let names: ClusterNames;
let cluster: KeelCluster;
let receiver: Server;
let base = '';
const hits = new Map<string, number>();
const held: ServerResponse[] = [];
let holding = true;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    req.resume();
    if (holding && req.url!.startsWith('/hold')) held.push(res);
    else res.end('{}');
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const a = receiver.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  names = uniqueNames('rbk');
  cluster = new KeelCluster({
    nats: { url: NATS_URL, stream: names.stream, subjectPrefix: names.prefix, partitions: 2 },
    postgres: { url: PG_URL, schema: names.schema },
    runbooks: { pollInterval: '100ms', commands: ['/bin/sh'] },
  });
  await cluster.spawn('api');
  await Promise.all(['evaluator', 'evaluator'].map((r) => cluster.spawn(r)));
}, 240_000);

afterAll(async () => {
  writeFileSync(join(commandDir, 'gate'), '');
  killGroups(shellPids());
  rmSync(commandDir, { recursive: true, force: true });
  for (const r of held) r.destroy();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await cluster?.stop();
  if (names) await cleanup(names);
});

describe('runbook runs when the leading evaluator is SIGKILLed', () => {
  it('resumes on the standby: reruns only what is safe to repeat, keeps the approval, journal and audit agree', async () => {
    const api = cluster.live('api')[0]!.url;
    const call = (path: string, json?: unknown) => http(`${api}${path}`, { key: CLUSTER_ADMIN_KEY, ...(json !== undefined ? { json } : {}) });
    const book = (name: string, first: string) => `apiVersion: keel/v1
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
      book('once', `      http: {method: POST, url: "${base}/hold/once"}\n      timeout: 1h`),
      book('repeatable', `      http: {url: "${base}/hold/repeatable"}\n      safeToRepeat: true\n      timeout: 1h`),
      book('approved', `      approval: {role: admin}\n      timeout: 1h`),
    ].join('---\n');
    const applied = await call('/v1/definitions/apply', { sources: [{ file: 'rb.yaml', content: yaml }] });
    expect(applied.status, applied.text).toBe(200);
    const ids: Record<string, string> = {};
    for (const name of ['once', 'repeatable', 'approved']) ids[name] = (await call(`/v1/runbooks/${name}/runs`, {})).body.id;
    await waitFor('both held requests', () => hits.get('/hold/once') === 1 && hits.get('/hold/repeatable') === 1, 60_000);

    const leader = (await tenuresOf(api, 'runbooks')).find((t) => t.ended_at === null)!;
    const victim = cluster.live('evaluator').find((p) => leader.holder.includes(`:${p.child.pid}:`))!;
    expect(victim).toBeDefined();
    await cluster.kill(victim);
    holding = false;
    for (const r of held.splice(0)) r.destroy();

    const survivor = cluster.live('evaluator')[0]!;
    const repeated = await waitFor(
      'the repeatable run to end on the standby',
      async () => {
        const r = await call(`/v1/runbooks/runs/${ids.repeatable}`);
        return r.body.status === 'succeeded' ? r.body : undefined;
      },
      90_000,
    );
    expect(hits.get('/hold/repeatable')).toBe(2);
    expect(repeated.journal.map((j: { event: string }) => j.event)).toContain('step.interrupted');
    const now = (await tenuresOf(api, 'runbooks')).find((t) => t.ended_at === null)!;
    expect(now.holder).toContain(`:${survivor.child.pid}:`);

    const unknown = await waitFor('the once run to wait for a person', async () => {
      const r = await call(`/v1/runbooks/runs/${ids.once}`);
      return r.body.phase === 'unknown' ? r.body : undefined;
    });
    expect(unknown.steps[0]).toMatchObject({ status: 'unknown', attempts: 1 });
    expect((await call(`/v1/runbooks/runs/${ids.approved}`)).body).toMatchObject({ status: 'waiting', phase: 'approval' });
    expect(hits.get('/hold/once')).toBe(1);

    expect((await call(`/v1/runbooks/runs/${ids.once}/decide`, { decision: 'retry' })).status).toBe(200);
    expect((await call(`/v1/runbooks/runs/${ids.approved}/approve`, {})).status).toBe(200);
    for (const name of ['once', 'approved']) {
      await waitFor(`${name} to end`, async () => (await call(`/v1/runbooks/runs/${ids[name]}`)).body.status === 'succeeded', 30_000);
    }
    // Retried on a person's word: the second request is the one they asked for.
    expect(hits.get('/hold/once')).toBe(2);
    for (const name of ['once', 'repeatable', 'approved']) expect(hits.get(`/after/${name}`)).toBe(1);

    const audit = await call('/v1/audit?limit=1000');
    for (const name of ['once', 'repeatable', 'approved']) {
      const run = (await call(`/v1/runbooks/runs/${ids[name]}`)).body;
      const entries = audit.body.entries.filter((e: { target: string }) => e.target.startsWith(`runbook-run/${ids[name]}`));
      expect(entries.map((e: { action: string }) => e.action)).toEqual(run.journal.map((j: { event: string }) => `runbooks.${j.event}`));
    }
    expect((await call('/v1/audit/verify')).body.ok).toBe(true);
    // As at the end of every distributed fault test: the counters (here Keel's own outcomes,
    // recorded by every process) equal what the log holds.
    await verifyCounts(api);
  });
  it('does not rerun a command step that is safe to repeat while it may still run on the stopped leader\'s machine: the run waits for a person', async () => {
    const api = cluster.live('api')[0]!.url;
    const call = (path: string, json?: unknown) => http(`${api}${path}`, { key: CLUSTER_ADMIN_KEY, ...(json !== undefined ? { json } : {}) });
    await cluster.spawn('evaluator'); // a standby again, beside the survivor of the test above
    const script = 'echo $$ >> "$DIR/pids"; while [ ! -e "$DIR/gate" ]; do sleep 0.05; done';
    expect((await call('/v1/definitions/apply', { sources: [{ file: 'cmd.yaml', content: shellRunbook('elsewhere', true, script) }] })).status).toBe(200);
    const id = (await call('/v1/runbooks/elsewhere/runs', { params: { dir: commandDir } })).body.id as string;
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    try {
      const recorded = async () => (await db.query<{ p: string | null }>(`select step_process_json as p from "${names.schema}".runbook_runs where id = $1`, [id])).rows[0]?.p ?? null;
      await waitFor('the command and its process group recorded', async () => (await recorded()) !== null && shellPids().length === 1, 60_000);
      // As if the leader ran on another machine: the record names another boot.
      const p = JSON.parse((await recorded())!) as { bootId: string };
      await db.query(`update "${names.schema}".runbook_runs set step_process_json = $1 where id = $2`, [JSON.stringify({ ...p, bootId: 'another-machine' }), id]);
    } finally {
      await db.end();
    }
    const leader = (await tenuresOf(api, 'runbooks')).find((t) => t.ended_at === null)!;
    const victim = cluster.live('evaluator').find((e) => leader.holder.includes(`:${e.child.pid}:`))!;
    await cluster.kill(victim);

    const waiting = await waitFor(
      'the run to wait for a person',
      async () => {
        const r = await call(`/v1/runbooks/runs/${id}`);
        return r.body.phase === 'unknown' ? r.body : undefined;
      },
      90_000,
    );
    expect(waiting.steps[0]).toMatchObject({ status: 'unknown', attempts: 1 });
    const why = waiting.journal.find((j: { event: string }) => j.event === 'step.outcome_unknown');
    expect(why.data.reason).toContain(`its command (pid ${shellPids()[0]}) was started on another machine or before a reboot: it may still be running there`);
    // Not rerun beside it, and not killed from here either.
    expect(shellPids()).toHaveLength(1);
    expect(() => process.kill(-shellPids()[0]!, 0)).not.toThrow();
    const survivorLogs = cluster
      .live('evaluator')
      .map((e) => e.stderr())
      .join('');
    expect(survivorLogs).toContain('it cannot be ended from here: the run waits for a person');

    // The person checks, ends it, and tells Keel to skip the step.
    writeFileSync(join(commandDir, 'gate'), '');
    expect((await call(`/v1/runbooks/runs/${id}/decide`, { decision: 'skip' })).status).toBe(200);
    await waitFor('the run to end', async () => (await call(`/v1/runbooks/runs/${id}`)).body.status === 'succeeded', 30_000);
  }, 180_000);
});
