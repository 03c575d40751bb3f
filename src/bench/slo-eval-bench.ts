/**
 * `keel bench slo-eval`: what thousands of SLOs cost a running Keel besides the fold. A Keel child
 * process on a fresh data dir gets the fleet shape's SLOs (n/10 services, ten SLOs each) applied in
 * parts of at most `APPLY_PART` SLOs, then fleet events, then the burn-rate evaluation is run by
 * hand (`POST /v1/slo-evaluations`, what the evaluator does every `slo.evaluationInterval`) and
 * timed. The ceiling it is compared with is the interval itself: a tick must end well within it.
 * With `distributed`, the same steps run against the roles of `keel bench ingest --mode
 * distributed` (one api/evaluator, one ingest, one worker on NATS JetStream and PostgreSQL): the
 * tick's CPU is then the api/evaluator's plus PostgreSQL's, and the size is the schema's.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import YAML from 'yaml';
import { sampleCpu, type CpuGroups } from './cpu-accounting.js';
import { dropCluster, startCluster, type ClusterOptions } from './distributed-bench.js';
import { fleetBodies } from './events.js';
import { percentile } from './load.js';
import { fleetSloDocuments } from './slo-bench-slos.js';
import { keelCall, spawnKeel } from './spawn-keel.js';

export interface SloEvalBenchOptions {
  slos: number;
  /** Events sent before the evaluation ticks (thousands). */
  events: number;
  ticks: number;
  /** Run against ingest, worker and api/evaluator roles on NATS and PostgreSQL instead of one embedded process. */
  distributed?: { natsUrl: string; postgresUrl: string };
  log: (line: string) => void;
}

export interface SloEvalBenchResult {
  mode: 'embedded' | 'distributed';
  slos: number;
  events: number;
  apply_ms: number;
  backfill_ms: number;
  tick_p50_ms: number;
  tick_max_ms: number;
  /** Keel's own CPU time per tick (user + system, all threads, from /proc; 10 ms resolution): what a tick costs on a busy machine. Distributed: the api/evaluator process plus every `postgres` process on the machine. */
  tick_cpu_ms: number;
  /** Distributed: the part of `tick_cpu_ms` spent by PostgreSQL. */
  tick_postgres_cpu_ms?: number;
  per_slo_us: number;
  cpu_per_slo_us: number;
  evaluation_interval_ms: number;
  tick_vs_interval: number;
  /** Embedded: the data dir; distributed: the bench schema in PostgreSQL (tables and indexes). */
  data_dir_bytes: number;
  data_dir_bytes_per_slo: number;
}

/** Where the bench sends its calls, and what it measures the CPU and size of. */
interface EvalTarget {
  adminUrl: string;
  ingestUrl: string;
  adminKey: string;
  cpu: CpuGroups;
  /** The end of what the Keel processes wrote, shown when the bench fails. */
  output(): string;
  bytes(): Promise<number>;
  stop(): Promise<void>;
}

/** keel.yaml sections that let `POST /v1/slo-evaluations` run as long as a tick takes. */
const LONG_CALLS = { server: { requestTimeout: '15m' }, security: { handlerTimeout: '15m' } };

async function embeddedTarget(): Promise<EvalTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keel-'));
  writeFileSync(join(dataDir, 'keel.yaml'), YAML.stringify(LONG_CALLS));
  const keel = await spawnKeel({ readyTimeoutMs: 60_000, dataDir });
  return {
    adminUrl: keel.url,
    ingestUrl: keel.url,
    adminKey: keel.adminKey,
    cpu: { pids: { keel: [keel.child.pid!] }, commands: {} },
    output: () => keel.stderr().slice(-2000),
    bytes: () => Promise.resolve(dirBytes(keel.dataDir)),
    stop: async () => {
      await keel.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function distributedTarget(d: { natsUrl: string; postgresUrl: string }): Promise<EvalTarget> {
  // A tick that outlasts the HTTP timeouts (30 s) would be cut off: the bench times it, whatever it takes.
  const o: ClusterOptions = { natsUrl: d.natsUrl, postgresUrl: d.postgresUrl, partitions: 2, config: LONG_CALLS };
  const cluster = await startCluster(o, 1, 1);
  return {
    adminUrl: cluster.coordinator.url,
    ingestUrl: cluster.ingest[0]!.url,
    adminKey: cluster.adminKey,
    cpu: { pids: { keel: [cluster.coordinator.child.pid!] }, commands: { postgresql: ['postgres'] } },
    output: () => [cluster.coordinator, ...cluster.ingest, ...cluster.workers].map((p) => p.stderr().slice(-1000)).join('\n'),
    bytes: async () => {
      const client = new pg.Client({ connectionString: d.postgresUrl });
      await client.connect();
      try {
        const r = await client.query<{ n: string }>(
          "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relkind = 'r'",
          [cluster.schema],
        );
        return Number(r.rows[0]!.n);
      } finally {
        await client.end();
      }
    },
    stop: () => dropCluster(o, cluster),
  };
}

/** SLOs per definitions request: the API takes bodies up to 1 MiB. */
const APPLY_PART = 1000;
const EVALUATION_INTERVAL_MS = 30_000;

function dirBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    n += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return n;
}

export async function benchSloEvaluation(o: SloEvalBenchOptions): Promise<SloEvalBenchResult> {
  const target = o.distributed ? await distributedTarget(o.distributed) : await embeddedTarget();
  try {
    const call = keelCall(target.adminUrl);
    const send = keelCall(target.ingestUrl);
    await call('POST', '/v1/tenants', target.adminKey, JSON.stringify({ id: 'fleet', eventsPerSecond: 1e9, burst: 1e9 }));
    const admin = (await call('POST', '/v1/keys', target.adminKey, JSON.stringify({ tenant: 'fleet', scopes: ['admin'], name: 'bench-admin' }))).key as string;
    const ingest = (await call('POST', '/v1/keys', target.adminKey, JSON.stringify({ tenant: 'fleet', scopes: ['ingest'], name: 'bench-ingest' }))).key as string;

    // The fleet's documents, applied in parts (each part with the services its SLOs name).
    const docs = fleetSloDocuments(o.slos).split('---\n');
    const services = docs.filter((d) => d.includes('kind: Service'));
    const slos = docs.filter((d) => d.includes('kind: SLO'));
    const applyStart = Date.now();
    await call('POST', '/v1/definitions/apply', admin, JSON.stringify({ sources: [{ file: 'services.yaml', content: services.join('---\n') }] }));
    for (let i = 0; i < slos.length; i += APPLY_PART) {
      await call('POST', '/v1/definitions/apply', admin, JSON.stringify({ sources: [{ file: `slos-${i}.yaml`, content: slos.slice(i, i + APPLY_PART).join('---\n') }] }));
      o.log(`  applied ${Math.min(i + APPLY_PART, slos.length).toLocaleString('en-US')} of ${slos.length.toLocaleString('en-US')} SLOs`);
    }
    const applyMs = Date.now() - applyStart;
    o.log(`keel pids ${Object.values(target.cpu.pids).flat().join(', ')}: ${o.slos} fleet SLOs applied in ${applyMs} ms; sending ${o.events}k events…`);

    const bodies = fleetBodies(Math.ceil(o.slos / 10), o.events, 1000);
    for (const body of bodies) await send('POST', '/v1/events', ingest, body.toString(), 'application/x-ndjson');
    const backfillStart = Date.now();
    for (;;) {
      const b = (await call('GET', '/v1/slo-backfills', admin)).backfills as { state: string }[];
      const open = b.filter((x) => x.state !== 'done').length;
      if (open === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const backfillMs = Date.now() - backfillStart;
    o.log(`  every SLO counted (backfills done ${backfillMs} ms after the last event was acknowledged); ${o.ticks} evaluation ticks…`);

    const ticks: number[] = [];
    const cpuBefore = sampleCpu(target.cpu);
    for (let t = 0; t < o.ticks; t++) {
      const start = process.hrtime.bigint();
      const r = await call('POST', '/v1/slo-evaluations', admin, '{}');
      ticks.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (r.evaluated !== o.slos) throw new Error(`the evaluation covered ${String(r.evaluated)} SLOs, not ${o.slos}`);
    }
    const cpuAfter = sampleCpu(target.cpu);
    const spent = (label: string) => ((cpuAfter.byLabel[label] ?? 0) - (cpuBefore.byLabel[label] ?? 0)) / o.ticks;
    const postgresMs = o.distributed ? spent('postgresql') : undefined;
    const cpuMs = spent('keel') + (postgresMs ?? 0);
    ticks.sort((a, b) => a - b);
    const p50 = percentile(ticks, 50);
    const bytes = await target.bytes();
    return {
      mode: o.distributed ? 'distributed' : 'embedded',
      slos: o.slos,
      events: o.events * 1000,
      apply_ms: applyMs,
      backfill_ms: backfillMs,
      tick_p50_ms: Math.round(p50),
      tick_max_ms: Math.round(Math.max(...ticks)),
      tick_cpu_ms: Math.round(cpuMs),
      ...(postgresMs !== undefined ? { tick_postgres_cpu_ms: Math.round(postgresMs) } : {}),
      per_slo_us: Math.round((p50 * 1000) / o.slos),
      cpu_per_slo_us: Math.round((cpuMs * 1000) / o.slos),
      evaluation_interval_ms: EVALUATION_INTERVAL_MS,
      tick_vs_interval: Math.round((p50 / EVALUATION_INTERVAL_MS) * 1000) / 1000,
      data_dir_bytes: bytes,
      data_dir_bytes_per_slo: Math.round(bytes / o.slos),
    };
  } catch (e) {
    o.log(`the bench failed; what Keel wrote last:\n${target.output()}`);
    throw e;
  } finally {
    await target.stop();
  }
}
