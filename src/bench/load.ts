/** An HTTP load generator: `connections` loops sending pre-built NDJSON bodies back to back. */
import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  events: number;
  failures: number;
  statuses: Record<string, number>;
  seconds: number;
  latenciesMs: number[];
}

export interface LoadOptions {
  /** One URL, or several (an ingest fleet): connection i goes to urls[i % n], like a load balancer. */
  url: string | string[];
  apiKey: string;
  /** Several keys (many tenants): request i is sent with apiKeys[i % n] instead of apiKey. */
  apiKeys?: string[];
  bodies: Buffer[];
  eventsPerBody: number;
  connections: number;
  durationS: number;
  warmupS: number;
  /**
   * Target events/s (open loop). Requests are scheduled at fixed times and latency is measured
   * from the scheduled time, so a stall is charged to every request it delays (no coordinated
   * omission). Without it, each connection sends as fast as answers come back.
   */
  rate?: number;
  onTick?: (r: LoadResult) => void;
  /** Told of every acknowledged request (warm-up included), for freshness measurements. */
  onAcknowledged?: (events: number) => void;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const urls = Array.isArray(o.url) ? o.url : [o.url];
  const pools = urls.map((u) => new Pool(u, { connections: Math.ceil(o.connections / urls.length), pipelining: 1, keepAliveTimeout: 60_000 }));
  const keys = o.apiKeys && o.apiKeys.length > 0 ? o.apiKeys : [o.apiKey];
  const headerSets = keys.map((key) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' }));
  let h = 0;
  const warmEnd = performance.now() + o.warmupS * 1000;
  const end = warmEnd + o.durationS * 1000;
  const result: LoadResult = { requests: 0, events: 0, failures: 0, statuses: {}, seconds: o.durationS, latenciesMs: [] };
  let k = 0;
  const start = performance.now();
  const interval = o.rate ? (o.eventsPerBody / o.rate) * 1000 : 0;
  let scheduled = 0;
  const ticker = o.onTick ? setInterval(() => o.onTick!(result), 1000) : undefined;
  const loop = async (connection: number) => {
    const pool = pools[connection % pools.length]!;
    while (performance.now() < end) {
      const body = o.bodies[k++ % o.bodies.length]!;
      const headers = headerSets[h++ % headerSets.length]!;
      let t0 = performance.now();
      if (interval > 0) {
        const due = start + scheduled++ * interval;
        if (due > t0) await new Promise((r) => setTimeout(r, due - t0));
        t0 = due;
      }
      let status = 0;
      let accepted = 0;
      try {
        const res = await pool.request({ path: '/v1/events', method: 'POST', headers, body });
        const text = await res.body.text();
        status = res.statusCode;
        if (status === 202) {
          accepted = (JSON.parse(text) as { accepted: number }).accepted;
          o.onAcknowledged?.(accepted);
        }
      } catch {
        status = -1;
      }
      const t1 = performance.now();
      if (t0 < warmEnd) continue;
      if (t1 > end) break;
      result.requests++;
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      if (status === 202) {
        result.events += accepted;
        result.latenciesMs.push(t1 - t0);
      } else {
        result.failures++;
        if (status === 429 || status === 503) await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, (_, i) => loop(i)));
  if (ticker) clearInterval(ticker);
  await Promise.all(pools.map((p) => p.close()));
  result.latenciesMs.sort((a, b) => a - b);
  return result;
}
