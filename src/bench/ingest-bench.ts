/**
 * `keel bench ingest`: durable ingest throughput and acknowledgement latency over HTTP, against
 * Keel started in its own process on a fresh data dir, beside the ceiling measured in the same
 * run on the same machine (one core of bare JSON.parse over the same NDJSON).
 */
import { request } from 'undici';
import { benchBodies, jsonParseCeiling } from './events.js';
import { percentile, runLoad } from './load.js';
import { spawnKeel } from './spawn-keel.js';

export interface IngestBenchOptions {
  durationS: number;
  connections: number;
  batch: number;
  warmupS: number;
  parseThreads?: number;
  /** Fixed offered load in events/s (latency at that load); default: as fast as possible. */
  rate?: number;
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
    o.log(`keel pid ${keel.child.pid} at ${keel.url}; ${o.connections} connections for ${o.durationS} s after ${o.warmupS} s warm-up…`);
    let last = 0;
    const load = await runLoad({
      url: keel.url,
      apiKey: key,
      bodies,
      eventsPerBody: o.batch,
      connections: o.connections,
      durationS: o.durationS,
      warmupS: o.warmupS,
      ...(o.rate ? { rate: o.rate } : {}),
      onTick: (r) => {
        o.log(`  ${(r.events - last).toLocaleString('en-US')} events/s acknowledged (${r.requests} requests, ${r.failures} failed)`);
        last = r.events;
      },
    });
    const stats = await request(`${keel.url}/v1/log`, { headers: admin });
    const s = (await stats.body.json()) as { events: number };
    const eventsPerS = load.events / load.seconds;
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
      acknowledged_events: load.events,
    };
  } finally {
    await keel.stop('SIGTERM');
    keel.cleanup();
  }
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
