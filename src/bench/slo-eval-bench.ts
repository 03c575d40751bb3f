/**
 * `keel bench slo-eval`: what thousands of SLOs cost a running Keel besides the fold. A Keel child
 * process on a fresh data dir gets the fleet shape's SLOs (n/10 services, ten SLOs each) applied in
 * parts of at most `APPLY_PART` SLOs, then fleet events, then the burn-rate evaluation is run by
 * hand (`POST /v1/slo-evaluations`, what the evaluator does every `slo.evaluationInterval`) and
 * timed. The ceiling it is compared with is the interval itself: a tick must end well within it.
 */
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { sampleCpu } from './cpu-accounting.js';
import { fleetBodies } from './events.js';
import { percentile } from './load.js';
import { fleetSloDocuments } from './slo-bench-slos.js';
import { keelCall, spawnKeel } from './spawn-keel.js';

export interface SloEvalBenchOptions {
  slos: number;
  /** Events sent before the evaluation ticks (thousands). */
  events: number;
  ticks: number;
  log: (line: string) => void;
}

export interface SloEvalBenchResult {
  slos: number;
  events: number;
  apply_ms: number;
  backfill_ms: number;
  tick_p50_ms: number;
  tick_max_ms: number;
  /** Keel's own CPU time per tick (user + system, all threads, from /proc; 10 ms resolution): what a tick costs on a busy machine. */
  tick_cpu_ms: number;
  per_slo_us: number;
  cpu_per_slo_us: number;
  evaluation_interval_ms: number;
  tick_vs_interval: number;
  data_dir_bytes: number;
  data_dir_bytes_per_slo: number;
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
  const keel = await spawnKeel({ readyTimeoutMs: 60_000 });
  try {
    const call = keelCall(keel.url);
    await call('POST', '/v1/tenants', keel.adminKey, JSON.stringify({ id: 'fleet', eventsPerSecond: 1e9, burst: 1e9 }));
    const admin = (await call('POST', '/v1/keys', keel.adminKey, JSON.stringify({ tenant: 'fleet', scopes: ['admin'], name: 'bench-admin' }))).key as string;
    const ingest = (await call('POST', '/v1/keys', keel.adminKey, JSON.stringify({ tenant: 'fleet', scopes: ['ingest'], name: 'bench-ingest' }))).key as string;

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
    o.log(`keel pid ${keel.child.pid}: ${o.slos} fleet SLOs applied in ${applyMs} ms; sending ${o.events}k events…`);

    const bodies = fleetBodies(Math.ceil(o.slos / 10), o.events, 1000);
    for (const body of bodies) await call('POST', '/v1/events', ingest, body.toString(), 'application/x-ndjson');
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
    const groups = { pids: { keel: [keel.child.pid!] }, commands: {} };
    const cpuBefore = sampleCpu(groups);
    for (let t = 0; t < o.ticks; t++) {
      const start = process.hrtime.bigint();
      const r = await call('POST', '/v1/slo-evaluations', admin, '{}');
      ticks.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (r.evaluated !== o.slos) throw new Error(`the evaluation covered ${String(r.evaluated)} SLOs, not ${o.slos}`);
    }
    const cpuMs = (sampleCpu(groups).byLabel.keel! - cpuBefore.byLabel.keel!) / o.ticks;
    ticks.sort((a, b) => a - b);
    const p50 = percentile(ticks, 50);
    const bytes = dirBytes(keel.dataDir);
    return {
      slos: o.slos,
      events: o.events * 1000,
      apply_ms: applyMs,
      backfill_ms: backfillMs,
      tick_p50_ms: Math.round(p50),
      tick_max_ms: Math.round(Math.max(...ticks)),
      tick_cpu_ms: Math.round(cpuMs),
      per_slo_us: Math.round((p50 * 1000) / o.slos),
      cpu_per_slo_us: Math.round((cpuMs * 1000) / o.slos),
      evaluation_interval_ms: EVALUATION_INTERVAL_MS,
      tick_vs_interval: Math.round((p50 / EVALUATION_INTERVAL_MS) * 1000) / 1000,
      data_dir_bytes: bytes,
      data_dir_bytes_per_slo: Math.round(bytes / o.slos),
    };
  } finally {
    await keel.stop();
    keel.cleanup();
  }
}
