/** Keel role processes (`bin/keel.js start --role ...`) sharing one config, for fault tests. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import YAML from 'yaml';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { runCliWithEnv } from './cli.js';
import { countedBatchesGoneFromStream } from './dist.js';
import { http } from './keel.js';
import { SERVICE, ratioSlo } from '../slo/fixtures.js';
import { twoStepPaging, waitFor, webhookSecrets, type Receiver } from './paging.js';

export const CLUSTER_ADMIN_KEY = 'keel_cluster_test_admin_key_0123456789';

export interface ClusterConfig {
  nats: Record<string, unknown>;
  postgres: Record<string, unknown>;
  [section: string]: unknown;
}

export class KeelCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'keel-cluster-'));
  readonly configFile = join(this.dir, 'keel.yaml');
  readonly secretKey = randomBytes(32).toString('hex');
  readonly processes: (KeelProcess & { role: string })[] = [];
  /** Spawns not yet ready: stop() waits for them, so none outlives the test. */
  private readonly starting = new Set<Promise<unknown>>();

  constructor(config: ClusterConfig) {
    writeFileSync(this.configFile, YAML.stringify({ cluster: { leaderPoll: '500ms' }, ...config }));
  }

  async spawn(role: string, env: Record<string, string> = {}): Promise<KeelProcess & { role: string }> {
    const starting = spawnKeel({
      adminKey: CLUSTER_ADMIN_KEY,
      args: ['--role', role, '--config', this.configFile],
      env: { KEEL_SECRET_KEY: this.secretKey, KEEL_LOG_LEVEL: 'info', ...env },
      keepOutput: 50_000_000,
      readyTimeoutMs: 90_000,
    }).then((p) => {
      const proc = Object.assign(p, { role });
      this.processes.push(proc);
      return proc;
    });
    this.starting.add(starting);
    try {
      return await starting;
    } finally {
      this.starting.delete(starting);
    }
  }

  live(role?: string): (KeelProcess & { role: string })[] {
    return this.processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null && (!role || p.role === role));
  }

  /** SIGKILL by process id. */
  async kill(p: KeelProcess): Promise<void> {
    await p.stop('SIGKILL');
  }

  async createKey(apiUrl: string, tenant: string, scopes: string[]): Promise<string> {
    const r = await http(`${apiUrl}/v1/keys`, { key: CLUSTER_ADMIN_KEY, json: { tenant, scopes } });
    if (r.status !== 201) throw new Error(`creating a key failed: ${r.status} ${r.text}`);
    return r.body.key as string;
  }

  /** Writes every process's output to a file kept after the test (for failure reports); returns its path. */
  dumpLogs(): string {
    const file = `${this.dir}.log`;
    writeFileSync(file, this.logs());
    return file;
  }

  /** Every process's stderr (pino logs), for secrets checks and failure reports. */
  logs(): string {
    return this.processes.map((p) => `--- ${p.role} pid ${p.child.pid}\n${p.stderr()}`).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.starting]);
    await Promise.all(this.processes.map((p) => p.stop('SIGTERM').catch(() => undefined)));
    for (const p of this.processes) p.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Usage totals per tenant as the API reports them (every tenant: the admin key). */
export async function usageTotals(apiUrl: string): Promise<Record<string, number>> {
  const from = new Date(Date.now() - 2 * 86_400_000).toISOString();
  const r = await http(`${apiUrl}/v1/usage?step=day&from=${from}`, { key: CLUSTER_ADMIN_KEY });
  if (r.status !== 200) throw new Error(`usage: ${r.status} ${r.text}`);
  return Object.fromEntries((r.body.totals as { tenant: string; events: number }[]).map((t) => [t.tenant, t.events]));
}

/** Waits until the counted usage equals what the client saw acknowledged; fails at once on an overcount. */
export async function expectCountedExactlyOnce(apiUrl: () => string, acked: Map<string, number>, timeoutMs = 90_000): Promise<Record<string, number>> {
  const want = Object.fromEntries(acked);
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, number> = {};
  for (;;) {
    try {
      last = await usageTotals(apiUrl());
    } catch {
      // the API may be restarting; try again
    }
    const over = Object.keys(want).filter((t) => (last[t] ?? 0) > want[t]!);
    if (over.length) throw new Error(`counted more than acknowledged: usage ${JSON.stringify(last)} vs acknowledged ${JSON.stringify(want)}`);
    if (Object.keys(want).every((t) => last[t] === want[t])) return last;
    if (Date.now() > deadline) throw new Error(`usage ${JSON.stringify(last)} never reached acknowledged ${JSON.stringify(want)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Tenure {
  name: string;
  holder: string;
  started_at: number;
  beat_at: number;
  ended_at: number | null;
}

/** No two tenures of one leadership overlap in time. */
export function overlappingTenures(tenures: Tenure[]): [Tenure, Tenure][] {
  const out: [Tenure, Tenure][] = [];
  const byName = new Map<string, Tenure[]>();
  for (const t of tenures) byName.set(t.name, [...(byName.get(t.name) ?? []), t]);
  for (const list of byName.values()) {
    list.sort((a, b) => a.started_at - b.started_at);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const end = prev.ended_at ?? prev.beat_at;
      if (list[i]!.started_at < end) out.push([prev, list[i]!]);
    }
  }
  return out;
}

/**
 * Paging on a cluster through its API: ann first, ben when ann has not acknowledged after
 * `firstWait`, for the service `checkout`; returns the Events v2 routing key that opens incidents.
 */
export async function clusterTwoStepPaging(api: string, receiverUrl: string, firstWait: string): Promise<string> {
  await webhookSecrets(api, CLUSTER_ADMIN_KEY);
  const paging = `${twoStepPaging(receiverUrl, firstWait)}---
apiVersion: keel/v1
kind: Service
metadata: {name: checkout}
spec: {escalationPolicy: two-steps}
`;
  const applied = await http(`${api}/v1/definitions/apply`, { key: CLUSTER_ADMIN_KEY, json: { sources: [{ file: 'paging.yaml', content: paging }] } });
  if (applied.status !== 200) throw new Error(`applying paging failed: ${applied.status} ${applied.text}`);
  const integration = await http(`${api}/v1/integrations`, { key: CLUSTER_ADMIN_KEY, json: { type: 'events-v2', service: 'checkout' } });
  return integration.body.key as string;
}

/** Opens an incident and waits until ann's page is recorded as sent; returns the incident and its next step. */
export async function openIncidentAndPageAnn(api: string, rx: Receiver, routingKey: string, dedupKey: string): Promise<{ incident: string; next: { at: string; step: number } }> {
  const admin = (path: string) => http(`${api}${path}`, { key: CLUSTER_ADMIN_KEY });
  const trigger = await http(`${api}/v1/integrations/events-v2`, {
    json: { routing_key: routingKey, event_action: 'trigger', dedup_key: dedupKey, payload: { summary: 'Checkout errors', source: 'lb', severity: 'critical' } },
  });
  if (trigger.status !== 202) throw new Error(`trigger failed: ${trigger.status} ${trigger.text}`);
  const annPage = await waitFor('ann to be paged', () => rx.requests.find((x) => x.path === '/ann'), 30_000);
  const incident = annPage.body.incident.id as string;
  await waitFor('ann’s page recorded as delivered', async () => {
    const jobs = (await admin(`/v1/incidents/${incident}/notifications`)).body.notifications as { status: string }[];
    return jobs.length === 1 && jobs[0]!.status === 'sent';
  });
  const next = (await admin(`/v1/incidents/${incident}`)).body.escalation.next as { at: string; step: number };
  return { incident, next };
}

/** The current (not ended) tenures of leaderships, by name, as `GET /v1/cluster/leaders` lists them. */
export async function tenuresOf(api: string, name: string): Promise<Tenure[]> {
  const r = await http(`${api}/v1/cluster/leaders?name=${name}`, { key: CLUSTER_ADMIN_KEY });
  if (r.status !== 200) throw new Error(`leaders: ${r.status} ${r.text}`);
  return r.body.tenures as Tenure[];
}

/** `GET /metrics` that gives up after `timeoutMs` (an answer slower than that is a failure). */
export async function scrape(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await request(`${url}/metrics`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return { status: res.statusCode, text: await res.body.text() };
}

/** One sample of a metric in Prometheus text (`name{labels} value`), or undefined. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * Sends the headers of a request and only the start of the body it declares, then waits for an
 * answer: what a client on a slow or stalled upload sees. Resolves with the raw answer, or rejects
 * when none came within `timeoutMs`.
 */
export function partialUpload(url: string, headers: Record<string, string>, declaredBytes: number, sentBody: string, timeoutMs: number): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms (got ${JSON.stringify(answer)})`));
    }, timeoutMs);
    socket.on('connect', () => {
      const head = Object.entries({ ...headers, host: `${hostname}:${port}`, 'content-length': String(declaredBytes) }).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.write(`POST /v1/events HTTP/1.1\r\n${head.join('')}\r\n${sentBody}`);
    });
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(answer)?.[1] ?? 0);
      if (answer.length >= end + 4 + length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export interface VerifyCountsAnswer {
  ok: boolean;
  differences: { partition: number; tenant: string; minute: string; batches: string[]; log: { events: number }; counted: { events: number } }[];
  slo: {
    buckets: number;
    compared: { tenant: string; slo: string; generation: string }[];
    skipped: { tenant: string; slo: string; reason: string }[];
    differenceCount: number;
    differences: {
      tenant: string;
      slo: string;
      objective: number;
      resolution: number;
      bucket: string;
      log: { good: number; bad: number; total: number };
      counted: { good: number; bad: number; total: number };
      batches: string[];
      partitions: number[];
    }[];
  };
}

/**
 * `keel verify counts` through the real CLI, at the end of every distributed fault test: the usage
 * and SLO counters must equal what the readable log holds (exit 0). Returns the parsed answer;
 * `slos` names the SLOs (tenant/name) that must have been compared.
 */
export async function verifyCounts(apiUrl: string, expectedExit = 0, slos: string[] = []): Promise<VerifyCountsAnswer> {
  const r = await runVerifyCounts(apiUrl);
  if (r.code !== expectedExit) throw new Error(`keel verify counts exited ${r.code}, expected ${expectedExit}: ${r.stdout}${r.stderr}`);
  const answer = JSON.parse(r.stdout) as VerifyCountsAnswer;
  const compared = answer.slo.compared.map((s) => `${s.tenant}/${s.slo}`);
  for (const slo of slos) if (!compared.includes(slo)) throw new Error(`keel verify counts did not compare the SLO ${slo}: ${r.stdout}`);
  return answer;
}

async function runVerifyCounts(apiUrl: string): Promise<Awaited<ReturnType<typeof runCliWithEnv>>> {
  const since = new Date(Date.now() - 3 * 3_600_000).toISOString();
  const deadline = Date.now() + 120_000;
  let r = await runCliWithEnv(['verify', 'counts', '--since', since, '--json'], { KEEL_URL: apiUrl, KEEL_API_KEY: CLUSTER_ADMIN_KEY }, 180_000);
  // The log may be briefly unavailable right after a fault (a stream changing leader): a 503, retried.
  while (r.code !== 0 && /\(503 /.test(r.stderr) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    r = await runCliWithEnv(['verify', 'counts', '--since', since, '--json'], { KEEL_URL: apiUrl, KEEL_API_KEY: CLUSTER_ADMIN_KEY }, 180_000);
  }
  return r;
}

/**
 * `keel verify counts` after a fault the NATS server may not survive whole (nats-server 2.9.10
 * lost counted batches after a frozen or killed replica, docs/distributed.md): exit 0; or exit 1
 * only when the stream provably lost batches that were counted (read with NATS's own client) and
 * every difference is counters above the log, never below. Differences while the stream still
 * holds every counted batch are a count Keel got wrong: the test fails and names them.
 */
export async function verifyCountsUnlessStreamLost(apiUrl: string, stream: { url: string; stream: string; schema: string }): Promise<VerifyCountsAnswer> {
  const r = await runVerifyCounts(apiUrl);
  if (r.code === 0) return JSON.parse(r.stdout) as VerifyCountsAnswer;
  if (r.code !== 1) throw new Error(`keel verify counts exited ${r.code}: ${r.stdout}${r.stderr}`);
  const answer = JSON.parse(r.stdout) as VerifyCountsAnswer;
  const gone = await countedBatchesGoneFromStream({ ...stream, consumer: 'usage' });
  const differences = JSON.stringify({ usage: answer.differences, slo: answer.slo.differences });
  if (gone.length === 0) throw new Error(`keel verify counts found differences while the stream still holds every batch counted (a count Keel got wrong): ${differences}`);
  const below = [...answer.differences.filter((d) => d.counted.events < d.log.events), ...answer.slo.differences.filter((d) => d.counted.total < d.log.total)];
  if (below.length > 0) throw new Error(`keel verify counts found counters below the log, which a lost batch cannot explain: ${JSON.stringify(below)}`);
  console.warn(
    `NATS LOST COUNTED BATCHES: the stream ${stream.stream} no longer holds ${gone.length} batch(es) the usage processor counted (${gone.map((g) => `${g.id}@${g.position}`).join(', ')}); keel verify counts reported ${differences}`,
  );
  return answer;
}

export const LOAD_SLO = 'load-availability';

/**
 * An SLO over `AckedLoad`'s events in `tenant` (every event counts; the first of each batch,
 * `i` 0, is bad), applied with a key of that tenant and backfilled before this returns, so the
 * fault test's final `keel verify counts` checks SLO totals under the faults too.
 */
export async function applyLoadSlo(apiUrl: string, key: string, tenant = 'acme'): Promise<string> {
  const yaml = `${SERVICE}---\n${ratioSlo(LOAD_SLO, { window: '1h', good: 'i > 0', total: 'service == "checkout"' })}`;
  const applied = await http(`${apiUrl}/v1/definitions/apply`, { key, json: { sources: [{ file: 'slo.yaml', content: yaml }] } });
  if (applied.status !== 200) throw new Error(`applying the load SLO failed: ${applied.status} ${applied.text}`);
  await waitFor(`the ${LOAD_SLO} backfill to finish`, async () => (await http(`${apiUrl}/v1/slos/${LOAD_SLO}`, { key })).body.backfill?.state === 'done', 60_000);
  return `${tenant}/${LOAD_SLO}`;
}

/** The load SLO's counted events (all time in its 1 h window). */
export async function loadSloEvents(apiUrl: string, key: string): Promise<{ good: number; bad: number; total: number }> {
  const r = await http(`${apiUrl}/v1/slos/${LOAD_SLO}`, { key });
  if (r.status !== 200) throw new Error(`reading the load SLO failed: ${r.status} ${r.text}`);
  return r.body.objectives[0].events;
}
