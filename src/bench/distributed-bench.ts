/**
 * `keel bench ingest --mode distributed`: the same HTTP load as the embedded bench, against ingest
 * and worker processes (`keel start --role ...`) on NATS JetStream and PostgreSQL. It prints
 * durable events/s and ack latency, end-to-end freshness (202 until the `usage` processor has
 * counted the event) and, measured in the same run, the ceiling: raw JetStream async-publish
 * throughput of the same batch messages from one Node process. `--scaling` repeats the run with
 * 1, 2 and 4 ingest processes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { request } from 'undici';
import YAML from 'yaml';
import { randomBase62 } from '../core/ids.js';
import { batchHeaders } from '../log/jetstream/batch-message.js';
import { connectNats } from '../log/jetstream/connection.js';
import { createLogger } from '../telemetry/logger.js';
import { benchBodies } from './events.js';
import { percentile, runLoad } from './load.js';
import { cpuPerThousand, sampleCpu, type CpuGroups } from './cpu-accounting.js';
import { spawnKeel, type KeelProcess } from './spawn-keel.js';

export interface DistributedBenchOptions {
  natsUrl: string;
  postgresUrl: string;
  durationS: number;
  warmupS: number;
  connections: number;
  batch: number;
  ingest: number;
  workers: number;
  partitions: number;
  scaling: boolean;
  log: (line: string) => void;
}

export interface RunFigures {
  ingest: number;
  workers: number;
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** 202 until counted by the usage processor, sampled every 100 ms while the load ran. */
  freshness_p50_ms: number;
  freshness_p99_ms: number;
  /** After the load stopped: until everything acknowledged was counted. */
  drain_ms: number;
  failures: number;
  statuses: Record<string, number>;
  acknowledged_events: number;
  counted_events: number;
  /** CPU ms per 1,000 acknowledged events in the measurement window, per component (Linux only). */
  cpu_ms_per_1000_events: Record<string, number>;
}

export interface DistributedBenchResult extends RunFigures {
  ceiling_events_per_s: number;
  ceiling_messages_per_s: number;
  ratio: number;
  batch: number;
  bytes_per_event: number;
  connections: number;
  duration_s: number;
  partitions: number;
  cores: number;
  load_average_1m: number;
  scaling?: RunFigures[];
}

const ADMIN_KEY = `keel_bench_${randomBase62(24)}`;

/** Raw JetStream async publish of the same batch messages, from this one Node process. */
export async function jetstreamCeiling(natsUrl: string, bodies: Buffer[], batch: number, seconds: number): Promise<{ messagesPerS: number; eventsPerS: number }> {
  const link = await connectNats({ url: natsUrl, name: 'keel-bench-ceiling' }, createLogger('silent'));
  const id = randomBase62(8).toLowerCase();
  const stream = `KEEL_BENCH_CEIL_${id}`;
  const subject = `keelbenchceil.${id}.0.bench`;
  try {
    const jsm = await jetstreamManager(link.nc);
    await jsm.streams.add({
      name: stream,
      subjects: [`keelbenchceil.${id}.>`],
      storage: StorageType.File,
      num_replicas: 1,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.New,
      duplicate_window: 120e9,
    });
    const js = jetstream(link.nc);
    const inFlight = 64;
    let sent = 0;
    let k = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    const worker = async () => {
      while (performance.now() < end) {
        const body = bodies[k++ % bodies.length]!;
        const batchId = randomBytes(12).toString('base64url');
        const headers = batchHeaders({ batchId, count: batch, minTs: 0, maxTs: 0, receivedAt: Date.now() });
        await js.publish(subject, body, { msgID: `${batchId}.0`, headers });
        sent++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const elapsed = (performance.now() - start) / 1000;
    await jsm.streams.delete(stream).catch(() => undefined);
    return { messagesPerS: sent / elapsed, eventsPerS: (sent * batch) / elapsed };
  } finally {
    await link.close();
  }
}

export interface BenchCluster {
  /** The bootstrap admin key of every process. */
  adminKey: string;
  ingest: KeelProcess[];
  workers: KeelProcess[];
  coordinator: KeelProcess;
  stream: string;
  schema: string;
  stop(): Promise<void>;
}

/** What starting and dropping a bench cluster needs (`keel bench slo-eval --mode distributed` reuses them). */
export type ClusterOptions = Pick<DistributedBenchOptions, 'natsUrl' | 'postgresUrl' | 'partitions'> & {
  /** More sections of every process's keel.yaml (e.g. longer timeouts for a bench that calls a slow route). */
  config?: Record<string, unknown>;
};

export async function startCluster(o: ClusterOptions, ingest: number, workers: number): Promise<BenchCluster> {
  const id = randomBase62(8).toLowerCase();
  const stream = `KEEL_BENCH_${id}`;
  const schema = `keel_bench_${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-dist-'));
  const configFile = join(dir, 'keel.yaml');
  writeFileSync(
    configFile,
    YAML.stringify({
      nats: { url: o.natsUrl, stream, subjectPrefix: `keelbench.${id}.ev`, partitions: o.partitions },
      postgres: { url: o.postgresUrl, schema },
      quota: { eventsPerSecond: 1e9, burst: 1e9 },
      ...o.config,
    }),
  );
  const env = { KEEL_SECRET_KEY: randomBytes(32).toString('hex'), KEEL_LOG_LEVEL: 'warn' };
  const spawned: KeelProcess[] = [];
  const spawnRole = async (role: string) => {
    const p = await spawnKeel({ adminKey: ADMIN_KEY, args: ['--role', role, '--config', configFile], env });
    spawned.push(p);
    return p;
  };
  const stop = async () => {
    await Promise.all(spawned.map((p) => p.stop('SIGTERM').catch(() => undefined)));
    for (const p of spawned) p.cleanup();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The coordinator (api + evaluator) runs migrations and bootstrap and serves the admin API; it idles during the load.
    const coordinator = await spawnRole('api,evaluator');
    const started = await Promise.all([...Array.from({ length: ingest }, () => spawnRole('ingest')), ...Array.from({ length: workers }, () => spawnRole('worker'))]);
    return { adminKey: ADMIN_KEY, ingest: started.slice(0, ingest), workers: started.slice(ingest), coordinator, stream, schema, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export async function dropCluster(o: ClusterOptions, c: BenchCluster): Promise<void> {
  await c.stop();
  const client = new pg.Client({ connectionString: o.postgresUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${c.schema}" CASCADE`).catch(() => undefined);
  await client.end();
  const link = await connectNats({ url: o.natsUrl, name: 'keel-bench-cleanup' }, createLogger('silent'));
  try {
    const jsm = await jetstreamManager(link.nc);
    await jsm.streams.delete(c.stream).catch(() => undefined);
  } finally {
    await link.close();
  }
}

async function benchKey(url: string): Promise<string> {
  const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
  const t = await request(`${url}/v1/tenants`, { method: 'POST', headers, body: JSON.stringify({ id: 'bench', eventsPerSecond: 1e9, burst: 1e9 }) });
  await t.body.text();
  const k = await request(`${url}/v1/keys`, { method: 'POST', headers, body: JSON.stringify({ tenant: 'bench', scopes: ['ingest'], name: 'bench' }) });
  return ((await k.body.json()) as { key: string }).key;
}

/** The first time the acknowledged total reached `n` (acks are recorded in order). */
function ackedAt(acks: { t: number; total: number }[], n: number): number | undefined {
  let lo = 0;
  let hi = acks.length - 1;
  if (hi < 0 || acks[hi]!.total < n) return undefined;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (acks[mid]!.total >= n) hi = mid;
    else lo = mid + 1;
  }
  return acks[lo]!.t;
}

async function runOnce(o: DistributedBenchOptions, bodies: Buffer[], ingest: number, workers: number): Promise<RunFigures> {
  o.log(`starting ${ingest} ingest + ${workers} worker process${workers === 1 ? '' : 'es'} (and one idle api/evaluator) on ${o.partitions} partitions…`);
  const cluster = await startCluster(o, ingest, workers);
  const counter = new pg.Client({ connectionString: o.postgresUrl, options: `-c search_path="${cluster.schema}"` });
  await counter.connect();
  try {
    const key = await benchKey(cluster.coordinator.url);
    const counted = async () => Number((await counter.query<{ n: string }>("SELECT COALESCE(SUM(events), 0) AS n FROM usage_minutes WHERE tenant_id = 'bench'")).rows[0]!.n);
    const acks: { t: number; total: number }[] = [];
    let total = 0;
    const freshness: number[] = [];
    const t0 = performance.now();
    const windowStart = t0 + o.warmupS * 1000;
    const windowEnd = windowStart + o.durationS * 1000;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = performance.now();
        const n = await counted();
        const at = ackedAt(acks, n);
        if (n > 0 && at !== undefined && now >= windowStart && now <= windowEnd) freshness.push(now - at);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let last = 0;
    // CPU per component over the measurement window (after the warm-up).
    const groups: CpuGroups = {
      pids: { ingest: cluster.ingest.map((p) => p.child.pid!), worker: cluster.workers.map((p) => p.child.pid!), 'api/evaluator (idle)': [cluster.coordinator.child.pid!] },
      commands: { 'nats-server': ['nats-server'], postgresql: ['postgres'] },
    };
    const cpu: { start?: ReturnType<typeof sampleCpu>; end?: ReturnType<typeof sampleCpu>; startTotal: number; endTotal: number } = { startTotal: 0, endTotal: 0 };
    const cpuStart = setTimeout(() => ((cpu.start = sampleCpu(groups)), (cpu.startTotal = total)), o.warmupS * 1000);
    const cpuEnd = setTimeout(() => ((cpu.end = sampleCpu(groups)), (cpu.endTotal = total)), (o.warmupS + o.durationS) * 1000 - 50);
    const load = await runLoad({
      url: cluster.ingest.map((p) => p.url),
      apiKey: key,
      bodies,
      eventsPerBody: o.batch,
      connections: o.connections,
      durationS: o.durationS,
      warmupS: o.warmupS,
      onAcknowledged: (events) => {
        total += events;
        acks.push({ t: performance.now(), total });
      },
      onTick: (r) => {
        o.log(`  ${(r.events - last).toLocaleString('en-US')} events/s acknowledged (${r.failures} failed)`);
        last = r.events;
      },
    });
    clearTimeout(cpuStart);
    clearTimeout(cpuEnd);
    const stoppedAt = performance.now();
    let n = await counted();
    while (n < total && performance.now() - stoppedAt < 180_000) {
      await new Promise((r) => setTimeout(r, 50));
      n = await counted();
    }
    const drainMs = performance.now() - stoppedAt;
    sampling = false;
    await sampler;
    freshness.sort((a, b) => a - b);
    const eventsPerS = load.events / load.seconds;
    const figures: RunFigures = {
      ingest,
      workers,
      events_per_s: Math.round(eventsPerS),
      p50_ms: round(percentile(load.latenciesMs, 50)),
      p99_ms: round(percentile(load.latenciesMs, 99)),
      freshness_p50_ms: Math.round(percentile(freshness, 50)),
      freshness_p99_ms: Math.round(percentile(freshness, 99)),
      drain_ms: Math.round(drainMs),
      failures: load.failures,
      statuses: load.statuses,
      acknowledged_events: total,
      counted_events: n,
      cpu_ms_per_1000_events: cpu.start && cpu.end ? cpuPerThousand(cpu.start, cpu.end, cpu.endTotal - cpu.startTotal) : {},
    };
    o.log(
      `  → ${figures.events_per_s.toLocaleString('en-US')} events/s, p99 ack ${figures.p99_ms} ms, freshness p99 ${figures.freshness_p99_ms} ms, counted ${n.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`,
    );
    return figures;
  } finally {
    await counter.end().catch(() => undefined);
    await dropCluster(o, cluster);
  }
}

export async function benchDistributed(o: DistributedBenchOptions): Promise<DistributedBenchResult> {
  const bodies = benchBodies(64, o.batch);
  const bytesPerEvent = bodies.reduce((s, b) => s + b.length, 0) / (bodies.length * o.batch);
  const load1 = loadavg()[0]!;
  o.log(`machine: ${availableParallelism()} cores, load average ${load1.toFixed(2)} (other work on this machine skews the figures)`);
  o.log(`ceiling: raw JetStream async publish of the same ${o.batch}-event messages (${Math.round(bodies[0]!.length / 1024)} KiB) from one Node process…`);
  const ceiling = await jetstreamCeiling(o.natsUrl, bodies, o.batch, 3);
  o.log(`ceiling: ${Math.round(ceiling.eventsPerS).toLocaleString('en-US')} events/s (${Math.round(ceiling.messagesPerS)} messages/s)`);
  const main = await runOnce(o, bodies, o.ingest, o.workers);
  let scaling: RunFigures[] | undefined;
  if (o.scaling) {
    scaling = [];
    for (const n of [1, 2, 4]) scaling.push(n === o.ingest && o.workers === 1 ? main : await runOnce(o, bodies, n, 1));
  }
  return {
    ...main,
    ceiling_events_per_s: Math.round(ceiling.eventsPerS),
    ceiling_messages_per_s: Math.round(ceiling.messagesPerS),
    ratio: round(main.events_per_s / ceiling.eventsPerS, 3),
    batch: o.batch,
    bytes_per_event: Math.round(bytesPerEvent),
    connections: o.connections,
    duration_s: o.durationS,
    partitions: o.partitions,
    cores: availableParallelism(),
    load_average_1m: round(load1, 2),
    ...(scaling ? { scaling } : {}),
  };
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
