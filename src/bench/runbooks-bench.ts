/**
 * `keel bench runbooks`: runs per second of a 3-step runbook (http, keel incident note, http)
 * against a local receiver, trigger-to-first-step latency from an Alertmanager alert, and, in the
 * same run, the Store's commit ceiling (bare SQLite write transactions of the size a run step
 * commits, one at a time, as the executor's commits are), so the figure reads against what the
 * machine allows.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { openSqliteStore } from '../store/store.js';
import { spawnKeel } from './spawn-keel.js';

export interface RunbooksBenchResult {
  runs: number;
  runs_per_s: number;
  commits_per_run: number;
  trigger_to_first_step_ms: { p50: number; p99: number; max: number; samples: number };
  ceiling_commits_per_s: number;
  /** Runs per second the commit ceiling would allow at `commits_per_run`. */
  ceiling_runs_per_s: number;
}

async function call(url: string, key: string, method: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await request(url, {
    method: method as 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? (JSON.parse(text) as unknown) : undefined };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Bare write transactions on a fresh SQLite store: an update of a run-sized row plus a journal insert. */
async function commitCeiling(seconds: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-ceiling-'));
  const store = await openSqliteStore(join(dir, 'state.db'));
  try {
    const state = JSON.stringify({ steps: Array.from({ length: 3 }, (_, i) => ({ name: `s${i}`, status: 'succeeded', output: { status: 200, body: '{}' } })) });
    await store.db
      .insertInto('runbook_runs')
      .values({
        id: 'r',
        tenant_id: 't',
        runbook: 'b',
        runbook_version: 1,
        spec_json: '{}',
        params_json: '{}',
        context_json: '{}',
        incident_id: null,
        trigger: 'manual',
        actor: 'a',
        status: 'running',
        phase: 'ready',
        due_at: 0,
        state_json: state,
        concurrency_key: null,
        created_at: 0,
        updated_at: 0,
        finished_at: null,
        version: 1,
        live_output_json: null,
      })
      .execute();
    let n = 0;
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      await store.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('runbook_runs')
          .set({ state_json: state, version: n + 2, updated_at: n })
          .where('id', '=', 'r')
          .execute();
        await trx.insertInto('runbook_journal').values({ run_id: 'r', tenant_id: 't', at: n, step: 's0', event: 'step.succeeded', actor: 'a', data_json: '{}' }).execute();
      });
      n++;
    }
    return n / seconds;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRunbooks(o: { runs: number; alerts: number; concurrency: number; log: (line: string) => void }): Promise<RunbooksBenchResult> {
  let firstStepAt = new Map<string, number>();
  const receiver = createServer((req, res) => {
    const m = /^\/first\/(.+)$/.exec(req.url ?? '');
    if (m && !firstStepAt.has(m[1]!)) firstStepAt.set(m[1]!, performance.now());
    req.resume();
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const a = receiver.address();
  const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'keel-bench-runbooks-'));
  writeFileSync(join(dataDir, 'keel.yaml'), 'runbooks:\n  pollInterval: 1s\n  concurrency: 32\n');
  // A Keel that does not start must not leave the receiver listening (the bench would never exit).
  const keel = await spawnKeel({ dataDir }).catch(async (err: unknown) => {
    await new Promise<void>((r) => receiver.close(() => r()));
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  const key = keel.adminKey;
  try {
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: bench-three}
spec:
  parameters: {n: {type: number, required: true}}
  steps:
    - name: check
      http: {url: "${base}/check/{{ params.n }}"}
      safeToRepeat: true
    - name: note
      keel: {action: incident.note, text: "bench run {{ params.n }}: HTTP {{ steps.check.output.status }}"}
    - name: done
      http: {method: POST, url: "${base}/done/{{ params.n }}", body: "{{ steps.note.output.result }}"}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: bench-alert}
spec:
  triggers:
    alerts: [{labels: {alertname: BenchAlert}}]
    concurrencyKey: "{{ alert.labels.id }}"
    cooldown: 0s
    maxRunsPerHour: 1000
  steps:
    - name: first
      http: {url: "${base}/first/{{ alert.labels.id }}"}
`;
    const applied = await call(`${keel.url}/v1/definitions/apply`, key, 'POST', { sources: [{ file: 'bench.yaml', content: yaml }] });
    if (applied.status !== 200) throw new Error(`apply failed: ${JSON.stringify(applied.body)}`);
    const inc = (await call(`${keel.url}/v1/incidents`, key, 'POST', { title: 'runbook bench', page: false })).body as { number: number };

    o.log(`runs: ${o.runs} runs of a 3-step runbook (http, keel incident.note, http), ${o.concurrency} started at a time…`);
    const t0 = performance.now();
    let next = 0;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < o.runs) {
          const n = next++;
          const r = await call(`${keel.url}/v1/runbooks/bench-three/runs`, key, 'POST', { params: { n }, incident: String(inc.number) });
          if (r.status !== 201) throw new Error(`run ${n} refused: ${JSON.stringify(r.body)}`);
          ids.push((r.body as { id: string }).id);
        }
      }),
    );
    for (;;) {
      const r = (await call(`${keel.url}/v1/runbooks/runs?runbook=bench-three&limit=1000`, key, 'GET')).body as { runs: { status: string; error: string | null }[] };
      const done = r.runs.filter((x) => x.status === 'succeeded').length;
      const failed = r.runs.filter((x) => x.status === 'failed' || x.status === 'aborted').length;
      if (failed) throw new Error(`${failed} bench runs failed, e.g. ${r.runs.find((x) => x.error)?.error ?? ''}`);
      if (done >= o.runs) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    const runsPerS = o.runs / seconds;
    // Transactions per run: create, then start+finish per side-effect step (the keel step's finish carries its note).
    const commitsPerRun = 1 + 3 * 2;
    o.log(`runs: ${runsPerS.toFixed(1)} runs/s (${o.runs} in ${seconds.toFixed(1)} s)`);

    o.log(`trigger: ${o.alerts} Alertmanager alerts, one at a time, to the first step's request…`);
    const integration = (await call(`${keel.url}/v1/integrations`, key, 'POST', { type: 'alertmanager' })).body as { key: string };
    firstStepAt = new Map();
    const latencies: number[] = [];
    for (let i = 0; i < o.alerts; i++) {
      const id = `a${i}`;
      const sent = performance.now();
      const r = await request(`${keel.url}/v1/integrations/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${integration.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          version: '4',
          status: 'firing',
          alerts: [{ status: 'firing', labels: { alertname: 'BenchAlert', id }, annotations: {}, startsAt: new Date().toISOString(), fingerprint: `bench-${id}` }],
        }),
      });
      await r.body.text();
      if (r.statusCode !== 200) throw new Error(`alert refused: HTTP ${r.statusCode}`);
      const deadline = Date.now() + 30_000;
      while (!firstStepAt.has(id)) {
        if (Date.now() > deadline) throw new Error(`no first step for alert ${id} within 30 s`);
        await new Promise((res) => setTimeout(res, 1));
      }
      latencies.push(firstStepAt.get(id)! - sent);
    }
    latencies.sort((x, y) => x - y);
    const trigger = { p50: Math.round(pct(latencies, 50)), p99: Math.round(pct(latencies, 99)), max: Math.round(latencies[latencies.length - 1] ?? 0), samples: latencies.length };
    o.log(`trigger: p50 ${trigger.p50} ms, p99 ${trigger.p99} ms`);

    o.log('ceiling: bare SQLite write transactions (a run-sized row update and a journal row), one at a time, 3 s…');
    const ceiling = await commitCeiling(3);
    o.log(`ceiling: ${Math.round(ceiling)} commits/s`);
    return {
      runs: o.runs,
      runs_per_s: Math.round(runsPerS * 10) / 10,
      commits_per_run: commitsPerRun,
      trigger_to_first_step_ms: trigger,
      ceiling_commits_per_s: Math.round(ceiling),
      ceiling_runs_per_s: Math.round((ceiling / commitsPerRun) * 10) / 10,
    };
  } finally {
    await keel.stop('SIGTERM').catch(() => undefined);
    keel.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
    await new Promise((r) => receiver.close(r));
  }
}
