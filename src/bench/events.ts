/** Realistic events for benchmarks: ~250 bytes of NDJSON each, with the attributes SLOs filter on. */
import { fleetRoute, fleetService } from './slo-bench-slos.js';

const SERVICES = ['checkout-api', 'search-api', 'cart-service', 'auth-service', 'payments-gateway', 'catalog-service'];
const ROUTES = ['/api/v1/checkout/confirm', '/api/v1/search/products', '/api/v1/cart/items', '/api/v1/auth/token', '/api/v2/payments/authorize', '/api/v1/catalog/items/:id'];
const REGIONS = ['eu-west-1', 'us-east-1', 'us-west-2', 'ap-southeast-1'];
const METHODS = ['GET', 'POST', 'PUT'];

function hex(n: number, rnd: () => number): string {
  let s = '';
  while (s.length < n)
    s += Math.floor(rnd() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  return s.slice(0, n);
}

/** A small deterministic PRNG (mulberry32), so runs are comparable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function benchEvent(i: number, now: number, rnd: () => number): Record<string, unknown> {
  const s = Math.floor(rnd() * SERVICES.length);
  const bad = rnd() < 0.01;
  return {
    ts: new Date(now - Math.floor(rnd() * 5000)).toISOString(),
    service: SERVICES[s],
    route: ROUTES[s],
    method: METHODS[i % METHODS.length],
    status: bad ? 503 : rnd() < 0.05 ? 404 : 200,
    latency_ms: Math.round(Math.exp(rnd() * 6) * 10) / 10,
    region: REGIONS[Math.floor(rnd() * REGIONS.length)],
    trace_id: hex(32, rnd),
    span_id: hex(16, rnd),
    user_id: `user-${Math.floor(rnd() * 1_000_000)
      .toString()
      .padStart(7, '0')}`,
  };
}

/** `count` NDJSON bodies of `batch` events each. */
export function benchBodies(count: number, batch: number, now = Date.now(), seed = 42): Buffer[] {
  const rnd = prng(seed);
  const out: Buffer[] = [];
  let i = 0;
  for (let b = 0; b < count; b++) {
    const lines: string[] = [];
    for (let k = 0; k < batch; k++) lines.push(JSON.stringify(benchEvent(i++, now, rnd)));
    out.push(Buffer.from(`${lines.join('\n')}\n`));
  }
  return out;
}

const TIERS = ['free', 'free', 'free', 'pro', 'enterprise'];

/**
 * Events of the fleet shape (`fleetSloDocuments`): `services` services with five routes each and a
 * customer tier, otherwise `benchEvent`s (about the same size).
 */
export function fleetBodies(services: number, count: number, batch: number, now = Date.now(), seed = 42): Buffer[] {
  const rnd = prng(seed);
  const out: Buffer[] = [];
  for (let b = 0; b < count; b++) {
    const lines: string[] = [];
    for (let i = 0; i < batch; i++) {
      const k = Math.floor(rnd() * services);
      const route = fleetRoute(k, Math.floor(rnd() * 5));
      const tier = TIERS[Math.floor(rnd() * TIERS.length)];
      lines.push(JSON.stringify({ ...benchEvent(i, now, rnd), service: fleetService(k), route, tier }));
    }
    out.push(Buffer.from(`${lines.join('\n')}\n`));
  }
  return out;
}

/** The ceiling: events/s one core parses with bare JSON.parse over the same NDJSON. */
export function jsonParseCeiling(bodies: Buffer[], seconds = 2): number {
  const texts = bodies.map((b) => b.toString('utf8'));
  let events = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let k = 0;
  while (process.hrtime.bigint() - start < budget) {
    const text = texts[k++ % texts.length]!;
    let pos = 0;
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      if (nl > pos) {
        JSON.parse(text.slice(pos, nl));
        events++;
      }
      pos = nl + 1;
    }
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return events / elapsed;
}
