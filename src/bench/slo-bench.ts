/**
 * `keel bench slo`: (1) aggregation throughput on one core: the SLO fold (byte scanner + compiled
 * CEL + bucket counting) over the bench events with n realistic SLOs, beside the ceiling of bare
 * JSON.parse of the same events, JSON.parse + the compiled filters, and JSON.parse + the CEL
 * library's own evaluator (the comparison that decided to compile CEL); (2) end-to-end freshness:
 * p50/p99 time from a probe event's 202 to the probe being counted by a Keel child process that
 * ingests bench events at the target rate.
 */
import { parse as celParse } from '@marcbachmann/cel-js';
import { request } from 'undici';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readSources } from '../definitions/yaml-source.js';
import type { LogBatch } from '../log/event-log.js';
import { compileTenantPlan, type TenantPlan } from '../slo/compiled.js';
import type { CelRecord } from '../cel/values.js';
import { EventScanner, fillFromObject } from '../slo/event-scanner.js';
import { FOLD_RUN_EVENTS, foldBatches, FoldResult, type FoldItem } from '../slo/fold.js';
import type { ResolvedSlo } from '../slo/model.js';
import { parseSloDocument } from '../slo/openslo.js';
import { resolveSlo } from '../slo/resolve.js';
import { benchBodies, fleetBodies, jsonParseCeiling } from './events.js';
import { percentile, runLoad } from './load.js';
import { PROBE_SLO, benchSloDocuments, fleetSloDocuments } from './slo-bench-slos.js';
import { keelCall, spawnKeel } from './spawn-keel.js';

export type SloBenchShape = 'templates' | 'fleet';

export interface SloBenchOptions {
  slos: number;
  /** `templates`: ten bench SLOs repeated with other thresholds; `fleet`: n/10 services, ten SLOs each. */
  shape?: SloBenchShape;
  seconds: number;
  rate: number;
  freshnessS: number;
  connections: number;
  skipFreshness: boolean;
  log: (line: string) => void;
}

export interface SloBenchResult {
  slos: number;
  shape: SloBenchShape;
  /** The fold without the predicate index and shared expressions (every SLO against every event). */
  fold_naive_events_per_s: number;
  index_speedup: number;
  /**
   * Heap used after compiling the plan and folding, after a full garbage collection (MB): what the
   * plan, the fold's state and the bench's events keep; and the plan's compile time.
   */
  heap_used_mb: number;
  plan_compile_ms: number;
  events_bytes: number;
  /** The mean of the ceiling measured before and after the fold (the machine may be shared). */
  ceiling_json_parse_events_per_s: number;
  fold_events_per_s: number;
  fold_vs_ceiling: number;
  /**
   * The same rates per second of this process's CPU time rather than wall time: on a shared
   * machine the wall-time rates swing with what else runs, the CPU-time ratio much less.
   */
  ceiling_json_parse_events_per_cpu_s: number;
  fold_events_per_cpu_s: number;
  fold_vs_ceiling_cpu: number;
  /** The comparisons with JSON.parse and the cel-js evaluator run up to 1,000 SLOs (null above). */
  json_parse_compiled_events_per_s: number | null;
  json_parse_library_cel_events_per_s: number | null;
  compiled_vs_library: number | null;
  cel_compiled_evaluations_per_s: number | null;
  cel_library_evaluations_per_s: number | null;
  cel_compiled_vs_library: number | null;
  scanner_fallbacks: number;
  freshness?: {
    target_events_per_s: number;
    achieved_events_per_s: number;
    probes: number;
    p50_ms: number;
    p99_ms: number;
    max_ms: number;
    failed_requests: number;
  };
}

export function benchSlos(n: number, shape: SloBenchShape = 'templates'): ResolvedSlo[] {
  const { docs, errors } = readSources([{ file: 'bench', content: shape === 'fleet' ? fleetSloDocuments(n) : benchSloDocuments(n) }]);
  if (errors.length) throw new Error(`bench SLOs do not parse: ${errors.map((e) => e.message).join('; ')}`);
  const lookup = { get: (kind: string, name: string) => (kind === 'Service' ? { metadata: { name } } : undefined) };
  return docs
    .filter((d) => (d.value as { kind: string }).kind === 'SLO')
    .map((d) => {
      const parsed = parseSloDocument(d.value as Record<string, unknown>);
      if (!parsed.ok) throw new Error(`bench SLO invalid: ${JSON.stringify(parsed.errors)}`);
      const r = resolveSlo(parsed.spec, lookup);
      if (!r.slo) throw new Error(`bench SLO unresolved: ${JSON.stringify(r.errors)}`);
      return r.slo;
    });
}

/** Runs `fn` over the batches until `seconds` pass; events per second. */
function rate(batches: LogBatch[], seconds: number, fn: (b: LogBatch, i: number) => void): number {
  let events = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let i = 0;
  while (process.hrtime.bigint() - start < budget) {
    const b = batches[i % batches.length]!;
    fn(b, i++);
    events += b.count;
  }
  return events / (Number(process.hrtime.bigint() - start) / 1e9);
}

/**
 * The aggregator's fold: 64 batches per transaction into one result, which its writer reads
 * (settling the fold's counters into deltas), folded in runs of up to FOLD_RUN_EVENTS events.
 * Whole transactions are timed, so no batch is counted without being folded.
 */
function foldRate(plan: TenantPlan, batches: LogBatch[], seconds: number): number {
  const transactions: FoldItem[][][] = [];
  for (let t = 0; t < batches.length; t += 64) {
    const runs: FoldItem[][] = [];
    let events = FOLD_RUN_EVENTS;
    for (const batch of batches.slice(t, t + 64)) {
      if (events + batch.count > FOLD_RUN_EVENTS) {
        runs.push([]);
        events = 0;
      }
      runs[runs.length - 1]!.push({ batch, include: 'all' });
      events += batch.count;
    }
    transactions.push(runs);
  }
  const count = (runs: FoldItem[][]) => runs.reduce((n, run) => n + run.reduce((m, item) => m + item.batch.count, 0), 0);
  let events = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  for (let i = 0; process.hrtime.bigint() - start < budget; i++) {
    const runs = transactions[i % transactions.length]!;
    const out = new FoldResult();
    for (const run of runs) foldBatches(plan, run, out);
    out.values();
    events += count(runs);
  }
  return events / (Number(process.hrtime.bigint() - start) / 1e9);
}

function libraryRate(slos: ResolvedSlo[], batches: LogBatch[], seconds: number): number {
  const fns = slos.map((s) => {
    const ind = s.indicator;
    return ind.kind === 'ratio'
      ? { filter: celParse(ind.total), good: celParse((ind.good ?? ind.bad)!), value: null }
      : { filter: ind.filter ? celParse(ind.filter) : null, good: null, value: celParse(ind.value) };
  });
  const safe = (f: (ctx: Record<string, unknown>) => unknown, ev: Record<string, unknown>) => {
    try {
      return f(ev);
    } catch {
      return undefined;
    }
  };
  let sink = 0;
  const r = rate(batches, seconds, (b) => {
    const text = Buffer.from(b.data).toString('utf8');
    let pos = 0;
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      if (nl > pos) {
        const ev = JSON.parse(text.slice(pos, nl)) as Record<string, unknown>;
        for (const f of fns) {
          if (f.filter && safe(f.filter, ev) !== true) continue;
          if (f.good) sink += safe(f.good, ev) === true ? 1 : 0;
          else sink += typeof safe(f.value!, ev) === 'number' ? 1 : 0;
        }
      }
      pos = nl + 1;
    }
  });
  return sink >= 0 ? r : r;
}

/**
 * CEL evaluations per second on events already extracted (compiled: records; cel-js: parsed
 * objects), so the comparison is the evaluators alone: every SLO's filter, then its good or value
 * expression when the filter matched.
 */
function evaluationRates(plan: TenantPlan, slos: ResolvedSlo[], batches: LogBatch[], seconds: number): { compiled: number; library: number } {
  const objects: Record<string, unknown>[] = [];
  for (const b of batches.slice(0, 8)) for (const line of Buffer.from(b.data).toString('utf8').split('\n')) if (line) objects.push(JSON.parse(line) as Record<string, unknown>);
  const records = objects.map((o) => {
    const r: CelRecord = new Array(plan.slots.size);
    fillFromObject(o, plan.slots.paths, r);
    return r;
  });
  const timed = (fn: () => number): number => {
    let evals = 0;
    const start = process.hrtime.bigint();
    const budget = BigInt(Math.round(seconds * 1e9));
    while (process.hrtime.bigint() - start < budget) evals += fn();
    return evals / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  const compiled = timed(() => {
    let n = 0;
    for (const r of records) {
      for (const g of plan.gens) {
        n++;
        if (g.filter !== null && g.filter(r) !== true) continue;
        n++;
        if (g.good) g.good(r);
        else if (g.bad) g.bad(r);
        else g.value!(r);
      }
    }
    return n;
  });
  const fns = slos.map((sl) => {
    const ind = sl.indicator;
    return ind.kind === 'ratio' ? { filter: celParse(ind.total), next: celParse((ind.good ?? ind.bad)!) } : { filter: ind.filter ? celParse(ind.filter) : null, next: celParse(ind.value) };
  });
  const safe = (f: (ctx: Record<string, unknown>) => unknown, ev: Record<string, unknown>) => {
    try {
      return f(ev);
    } catch {
      return undefined;
    }
  };
  const library = timed(() => {
    let n = 0;
    for (const o of objects) {
      for (const f of fns) {
        n++;
        if (f.filter && safe(f.filter, o) !== true) continue;
        n++;
        safe(f.next, o);
      }
    }
    return n;
  });
  return { compiled, library };
}

const round = (v: number, d = 0) => Math.round(v * 10 ** d) / 10 ** d;

/** A rate measurement's events per wall-clock second, and per second of this process's CPU time. */
function timed(measure: () => number): { wall: number; cpu: number } {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const wall = measure();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu0);
  return { wall, cpu: (wall * seconds) / ((used.user + used.system) / 1e6) };
}

/** Heap used after a full garbage collection: what is live, not what awaits collection. */
function liveHeapBytes(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** Up to this many SLOs the bench also runs the JSON.parse and cel-js comparisons (slow beyond). */
const COMPARISONS_UP_TO = 1000;

export async function benchSlo(o: SloBenchOptions): Promise<SloBenchResult> {
  const shape = o.shape ?? 'templates';
  const slos = benchSlos(o.slos, shape);
  const bodies = shape === 'fleet' ? fleetBodies(Math.ceil(o.slos / 10), 64, 1000) : benchBodies(64, 1000);
  const bytes = bodies.reduce((s, b) => s + b.length, 0) / (64 * 1000);
  const now = Date.now();
  const batches: LogBatch[] = bodies.map((data, i) => ({ partition: 0, position: i + 1, tenant: 'bench', receivedAt: now, count: 1000, minTs: now - 5000, maxTs: now, data }));
  o.log(`${slos.length} SLOs (${shape}) over ${batches.length * 1000} bench events of ${bytes.toFixed(0)} bytes; ${o.seconds} s per measurement, one core`);
  const before = timed(() => jsonParseCeiling(bodies, o.seconds));
  o.log(`  ceiling (bare JSON.parse):        ${Math.round(before.wall).toLocaleString('en-US')} events/s (${Math.round(before.cpu).toLocaleString('en-US')} per CPU-second)`);
  const gens = slos.map((slo, i) => ({ uid: `bench-${i}`, slo }));
  const compileStart = process.hrtime.bigint();
  const plan = compileTenantPlan('bench', gens);
  const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;
  foldRate(plan, batches, Math.min(1, o.seconds)); // warm-up: let V8 optimise the generated code
  const folded = timed(() => foldRate(plan, batches, o.seconds));
  const after = timed(() => jsonParseCeiling(bodies, o.seconds));
  const ceiling = (before.wall + after.wall) / 2;
  const ceilingCpu = (before.cpu + after.cpu) / 2;
  const fold = folded.wall;
  const heapMb = liveHeapBytes() / 2 ** 20;
  o.log(
    `  SLO fold (scanner + compiled CEL + index): ${Math.round(fold).toLocaleString('en-US')} events/s (${Math.round(folded.cpu).toLocaleString('en-US')} per CPU-second); plan compiled in ${compileMs.toFixed(0)} ms, heap ${heapMb.toFixed(0)} MB`,
  );
  o.log(`  ceiling again (bare JSON.parse):  ${Math.round(after.wall).toLocaleString('en-US')} events/s (${Math.round(after.cpu).toLocaleString('en-US')} per CPU-second)`);
  const naivePlan = compileTenantPlan('bench', gens, { index: false });
  foldRate(naivePlan, batches, Math.min(1, o.seconds));
  const naive = foldRate(naivePlan, batches, o.seconds);
  o.log(`  SLO fold without the index:        ${Math.round(naive).toLocaleString('en-US')} events/s`);
  const compare = slos.length <= COMPARISONS_UP_TO;
  let jsonCompiled: number | null = null;
  let library: number | null = null;
  let evals: { compiled: number; library: number } | null = null;
  if (compare) {
    const jsonPlan: TenantPlan = { ...plan, scanner: new EventScanner(plan.slots.paths, 'json') };
    jsonCompiled = foldRate(jsonPlan, batches, o.seconds);
    o.log(`  JSON.parse + compiled CEL:         ${Math.round(jsonCompiled).toLocaleString('en-US')} events/s`);
    library = libraryRate(slos, batches, o.seconds);
    o.log(`  JSON.parse + cel-js evaluator:     ${Math.round(library).toLocaleString('en-US')} events/s`);
    evals = evaluationRates(naivePlan, slos, batches, o.seconds);
    o.log(`  CEL evaluations alone: compiled ${Math.round(evals.compiled).toLocaleString('en-US')}/s, cel-js ${Math.round(evals.library).toLocaleString('en-US')}/s`);
  } else o.log(`  (the JSON.parse and cel-js comparisons run up to ${COMPARISONS_UP_TO} SLOs)`);
  const result: SloBenchResult = {
    slos: slos.length,
    shape,
    events_bytes: Math.round(bytes),
    ceiling_json_parse_events_per_s: Math.round(ceiling),
    fold_events_per_s: Math.round(fold),
    fold_vs_ceiling: round(fold / ceiling, 2),
    ceiling_json_parse_events_per_cpu_s: Math.round(ceilingCpu),
    fold_events_per_cpu_s: Math.round(folded.cpu),
    fold_vs_ceiling_cpu: round(folded.cpu / ceilingCpu, 2),
    fold_naive_events_per_s: Math.round(naive),
    index_speedup: round(fold / naive, 1),
    heap_used_mb: Math.round(heapMb),
    plan_compile_ms: Math.round(compileMs),
    json_parse_compiled_events_per_s: jsonCompiled === null ? null : Math.round(jsonCompiled),
    json_parse_library_cel_events_per_s: library === null ? null : Math.round(library),
    compiled_vs_library: jsonCompiled === null || library === null ? null : round(jsonCompiled / library, 1),
    cel_compiled_evaluations_per_s: evals === null ? null : Math.round(evals.compiled),
    cel_library_evaluations_per_s: evals === null ? null : Math.round(evals.library),
    cel_compiled_vs_library: evals === null ? null : round(evals.compiled / evals.library, 1),
    scanner_fallbacks: plan.scanner.fallbacks,
  };
  if (!o.skipFreshness) result.freshness = await freshness(o);
  return result;
}

async function freshness(o: SloBenchOptions): Promise<NonNullable<SloBenchResult['freshness']>> {
  const keel = await spawnKeel();
  try {
    const call = keelCall(keel.url);
    await call('POST', '/v1/tenants', keel.adminKey, JSON.stringify({ id: 'bench', eventsPerSecond: 1e9, burst: 1e9 }));
    const admin = (await call('POST', '/v1/keys', keel.adminKey, JSON.stringify({ tenant: 'bench', scopes: ['admin'], name: 'bench-admin' }))).key as string;
    const ingest = (await call('POST', '/v1/keys', keel.adminKey, JSON.stringify({ tenant: 'bench', scopes: ['ingest'], name: 'bench-ingest' }))).key as string;
    await call('POST', '/v1/definitions/apply', admin, JSON.stringify({ sources: [{ file: 'bench.yaml', content: `${benchSloDocuments(o.slos)}---\n${PROBE_SLO}` }] }));
    o.log(`keel pid ${keel.child.pid}: ${o.slos} SLOs + a probe SLO; ingesting at ${o.rate.toLocaleString('en-US')} events/s for ${o.freshnessS} s…`);
    const bodies = benchBodies(64, 1000);
    const latencies: number[] = [];
    let probes = 0;
    let stop = false;
    const warmupS = 2;
    const probeStart = Date.now() + warmupS * 1000;
    const prober = (async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, 250));
        if (stop) break;
        const sent = await call('POST', '/v1/events', ingest, `${JSON.stringify({ probe: true, service: 'probe' })}\n`, 'application/x-ndjson');
        const acked = Date.now();
        if ((sent.accepted as number) !== 1) continue;
        probes++;
        const want = probes;
        for (;;) {
          const s = await call('GET', '/v1/slos/freshness-probe', admin);
          const total = (s.objectives as { events: { total: number } }[])[0]!.events.total;
          if (total >= want) {
            if (acked >= probeStart) latencies.push(Date.now() - acked);
            break;
          }
          if (Date.now() - acked > 60_000) throw new Error('a probe was not counted within 60 s');
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();
    let last = 0;
    const load = await runLoad({
      url: keel.url,
      apiKey: ingest,
      bodies,
      eventsPerBody: 1000,
      connections: o.connections,
      durationS: o.freshnessS,
      warmupS,
      rate: o.rate,
      onTick: (r) => {
        o.log(`  ${(r.events - last).toLocaleString('en-US')} events/s acknowledged; ${latencies.length} probes measured`);
        last = r.events;
      },
    });
    stop = true;
    await prober;
    latencies.sort((a, b) => a - b);
    return {
      target_events_per_s: o.rate,
      achieved_events_per_s: Math.round(load.events / load.seconds),
      probes: latencies.length,
      p50_ms: percentile(latencies, 50),
      p99_ms: percentile(latencies, 99),
      max_ms: latencies[latencies.length - 1] ?? NaN,
      failed_requests: load.failures,
    };
  } finally {
    await keel.stop('SIGTERM');
    keel.cleanup();
  }
}
