/**
 * `keel bench ingest`: durable ingest throughput and acknowledgement latency over HTTP, against
 * Keel started in its own process on a fresh data dir, beside the ceiling measured in the same
 * run on the same machine (one core of bare JSON.parse over the same NDJSON).
 */
import { request } from 'undici';
import { benchBodies, jsonParseCeiling } from './events.js';
import { measureLogDisk, type LogDiskResult } from './log-disk.js';
import { percentile, runLoad, type LoadResult } from './load.js';
import { spawnKeel } from './spawn-keel.js';

export interface IngestBenchOptions {
  durationS: number;
  connections: number;
  batch: number;
  warmupS: number;
  parseThreads?: number;
  /** Fixed offered load in events/s (latency at that load); default: as fast as possible. */
  rate?: number;
  /**
   * Many tenants: after the single-tenant measurement, create this many tenants (each with its
   * own key and quota, through the API) and measure again with requests spread over their keys.
   */
  tenants?: number;
  /** Longest wait after the load for compaction to catch up before measuring the disk (s). */
  compactionWaitS?: number;
  json: boolean;
  log: (line: string) => void;
}

export interface IngestBenchResult {
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  ceiling_events_per_s: number;
  ratio: number;
  requests_per_s: number;
  mb_per_s: number;
  bytes_per_event: number;
  batch: number;
  connections: number;
  duration_s: number;
  failures: number;
  /** The offered load, when fixed with --rate. */
  offered_events_per_s: number | null;
  statuses: Record<string, number>;
  stored_events: number;
  acknowledged_events: number;
  /** With --tenants: the same load spread over N tenants, in the same run as the figures above. */
  many_tenants: ManyTenantsResult | null;
  /** The log's files once compaction caught up (after the throughput window). */
  log_disk: LogDiskResult;
}

export interface ManyTenantsResult {
  tenants: number;
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** events_per_s over the single-tenant events_per_s of the same run (goal: ≥ 0.8 at 1,000). */
  ratio_to_single_tenant: number;
  ratio_to_ceiling: number;
  /** Alternating rounds of each (single, many, single, …) the duration was split into. */
  rounds: number;
  failures: number;
  statuses: Record<string, number>;
  acknowledged_events: number;
  setup_s: number;
}

export async function benchIngest(o: IngestBenchOptions): Promise<IngestBenchResult> {
  const bodies = benchBodies(64, o.batch);
  const bytesPerEvent = bodies.reduce((s, b) => s + b.length, 0) / (bodies.length * o.batch);
  o.log(`events: ${o.batch} per request, ${bytesPerEvent.toFixed(0)} bytes each; measuring the JSON.parse ceiling on one core…`);
  const ceiling = jsonParseCeiling(bodies, 3);
  o.log(`ceiling: ${Math.round(ceiling).toLocaleString('en-US')} events/s (one core, bare JSON.parse)`);

  const keel = await spawnKeel({
    ...(o.parseThreads !== undefined ? { args: ['--parse-threads', String(o.parseThreads)] } : {}),
  });
  try {
    const admin = { authorization: `Bearer ${keel.adminKey}`, 'content-type': 'application/json' };
    const t = await request(`${keel.url}/v1/tenants`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id: 'bench', eventsPerSecond: 1e9, burst: 1e9 }),
    });
    await t.body.text();
    const k = await request(`${keel.url}/v1/keys`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ tenant: 'bench', scopes: ['ingest'], name: 'bench' }),
    });
    const { key } = (await k.body.json()) as { key: string };
    const many = o.tenants !== undefined && o.tenants > 0 ? o.tenants : 0;
    let tenantKeys: string[] = [];
    let setupS = 0;
    if (many > 0) {
      const t0 = performance.now();
      o.log(`creating ${many} tenants, each with its own key and quota…`);
      tenantKeys = await createTenants(keel.url, admin, many);
      setupS = (performance.now() - t0) / 1000;
      o.log(`${many} tenants in ${setupS.toFixed(1)} s`);
    }
    // With many tenants, single- and many-tenant rounds alternate (ROUNDS of each, the duration
    // split among them) so a change in the machine's load (it is shared) weighs on both alike.
    const rounds = many > 0 ? ROUNDS : 1;
    const roundS = o.durationS / rounds;
    const runRound = async (keys: string[], round: number, label: string): Promise<LoadResult> => {
      o.log(`keel pid ${keel.child.pid} at ${keel.url}; ${label}: ${o.connections} connections for ${roundS.toFixed(1)} s${round === 0 ? ` after ${o.warmupS} s warm-up` : ''}…`);
      let last = 0;
      return runLoad({
        url: keel.url,
        apiKey: keys[0]!,
        apiKeys: keys,
        bodies,
        eventsPerBody: o.batch,
        connections: o.connections,
        durationS: roundS,
        warmupS: round === 0 ? o.warmupS : 0,
        ...(o.rate ? { rate: o.rate } : {}),
        onTick: (r) => {
          o.log(`  ${(r.events - last).toLocaleString('en-US')} events/s acknowledged (${r.requests} requests, ${r.failures} failed)`);
          last = r.events;
        },
      });
    };
    const singleRounds: LoadResult[] = [];
    const manyRounds: LoadResult[] = [];
    for (let r = 0; r < rounds; r++) {
      singleRounds.push(await runRound([key], r, `one tenant, round ${r + 1} of ${rounds}`));
      if (many > 0) manyRounds.push(await runRound(tenantKeys, r, `${many} tenants, round ${r + 1} of ${rounds}`));
    }
    const load = mergeLoads(singleRounds);
    const eventsPerS = load.events / load.seconds;
    let manyResult: ManyTenantsResult | null = null;
    if (many > 0) {
      const m = mergeLoads(manyRounds);
      const manyPerS = m.events / m.seconds;
      manyResult = {
        tenants: many,
        events_per_s: Math.round(manyPerS),
        p50_ms: round(percentile(m.latenciesMs, 50)),
        p99_ms: round(percentile(m.latenciesMs, 99)),
        ratio_to_single_tenant: round(manyPerS / eventsPerS, 3),
        ratio_to_ceiling: round(manyPerS / ceiling, 3),
        rounds,
        failures: m.failures,
        statuses: m.statuses,
        acknowledged_events: m.events,
        setup_s: round(setupS, 1),
      };
    }
    const stats = await request(`${keel.url}/v1/log`, { headers: admin });
    const s = (await stats.body.json()) as { events: number };
    // After the throughput window, so the wait (and the compactor's catching up) is not in it.
    const disk = await measureLogDisk({ url: keel.url, adminKey: keel.adminKey, dataDir: keel.dataDir, timeoutS: o.compactionWaitS ?? 300, stallS: 60, log: o.log });
    return {
      events_per_s: Math.round(eventsPerS),
      p50_ms: round(percentile(load.latenciesMs, 50)),
      p99_ms: round(percentile(load.latenciesMs, 99)),
      ceiling_events_per_s: Math.round(ceiling),
      ratio: round(eventsPerS / ceiling, 3),
      requests_per_s: round(load.requests / load.seconds, 1),
      mb_per_s: round((eventsPerS * bytesPerEvent) / 1e6, 1),
      bytes_per_event: Math.round(bytesPerEvent),
      batch: o.batch,
      connections: o.connections,
      duration_s: o.durationS,
      failures: load.failures,
      offered_events_per_s: o.rate ?? null,
      statuses: load.statuses,
      stored_events: s.events,
      acknowledged_events: load.events + (manyResult?.acknowledged_events ?? 0),
      many_tenants: manyResult,
      log_disk: disk,
    };
  } finally {
    await keel.stop('SIGTERM');
    keel.cleanup();
  }
}

/**
 * Tenants bench-t00001… through the API as an operator would: a tenant with its own quota (high
 * enough not to refuse the bench, but charged on every request), then an ingest key for it.
 */
async function createTenants(url: string, admin: Record<string, string>, n: number): Promise<string[]> {
  const keys: string[] = new Array<string>(n);
  let next = 0;
  const post = async (path: string, body: unknown): Promise<unknown> => {
    const res = await request(`${url}${path}`, { method: 'POST', headers: admin, body: JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`POST ${path} answered ${res.statusCode}: ${text}`);
    return JSON.parse(text) as unknown;
  };
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const id = `bench-t${String(i).padStart(5, '0')}`;
      await post('/v1/tenants', { id, eventsPerSecond: 1e8, burst: 1e8 });
      keys[i] = ((await post('/v1/keys', { tenant: id, scopes: ['ingest'], name: id })) as { key: string }).key;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return keys;
}

const ROUNDS = 3;

function mergeLoads(loads: LoadResult[]): LoadResult {
  const out: LoadResult = { requests: 0, events: 0, failures: 0, statuses: {}, seconds: 0, latenciesMs: [] };
  for (const l of loads) {
    out.requests += l.requests;
    out.events += l.events;
    out.failures += l.failures;
    out.seconds += l.seconds;
    for (const [k, v] of Object.entries(l.statuses)) out.statuses[k] = (out.statuses[k] ?? 0) + v;
    out.latenciesMs.push(...l.latenciesMs);
  }
  out.latenciesMs.sort((a, b) => a - b);
  return out;
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
