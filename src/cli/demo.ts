/**
 * `keel demo`: the whole chain in a few minutes, through the API only. It makes a demo team with
 * people, a schedule, an escalation policy paging a local webhook receiver it runs itself,
 * services and SLOs; sends traffic of a small shop (two hours of history, then live), and after a
 * while breaks payments in one region. The SLO burns, its page alert fires, the person on call is
 * paged, an incident opens, and the demo says where to click in the console.
 *
 * Used by the console's browser tests too, so what it builds is what they check.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnKeel, type KeelProcess } from '../bench/spawn-keel.js';
import { ApiError, KeelClient } from './client.js';

export const DEMO_TEAM = 'demo';

export interface DemoPerson {
  email: string;
  name: string;
  role: 'viewer' | 'responder' | 'editor' | 'admin';
  password: string;
  handle: string;
}

export interface DemoPage {
  at: string;
  to: string;
  event: string;
  incident: { id: string; number: number; title: string; url: string } | undefined;
}

export interface DemoOptions {
  /** A running Keel and an admin key of its system team; without them the demo starts one. */
  url?: string;
  apiKey?: string;
  /** Data dir of the Keel the demo starts (default: a fresh temporary one). */
  dataDir?: string;
  port?: number;
  team?: string;
  /** When the outage starts, after the setup (default 20 s). */
  outageAfterMs?: number;
  /** Live events per second (default 20). */
  rate?: number;
  /** Progress lines (nothing when omitted). */
  log?: (line: string) => void;
}

export interface Demo {
  url: string;
  team: string;
  /** The team's admin key (the demo's own calls use it). */
  teamKey: string;
  people: DemoPerson[];
  receiverUrl: string;
  /** Pages the receiver got, oldest first. */
  pages: DemoPage[];
  dataDir: string | undefined;
  outageAt: number;
  /** Resolves with the incident the outage opened (polls the API). */
  incident(timeoutMs?: number): Promise<{ id: string; number: number; title: string }>;
  /** Ends the outage: traffic is healthy again. */
  heal(): void;
  stop(): Promise<void>;
}

const ROUTES = ['/api/cart', '/api/pay', '/api/search', '/api/product'] as const;
const REGIONS = ['eu-west', 'us-east'] as const;

/** One request of the simulated shop at `ts`; during the outage payments in eu-west fail. */
export function demoEvent(ts: number, n: number, broken: boolean): Record<string, unknown> {
  const route = ROUTES[n % ROUTES.length]!;
  const region = REGIONS[Math.floor(n / ROUTES.length) % REGIONS.length]!;
  const service = route === '/api/search' || route === '/api/product' ? 'catalog' : 'checkout';
  const failing = broken && route === '/api/pay' && region === 'eu-west' && n % 10 !== 0;
  // A healthy shop still fails one request in 997 and is slow for one in 211.
  const status = failing ? 503 : n % 997 === 0 ? 500 : 200;
  const latency = failing ? 2000 + (n % 900) : n % 211 === 0 ? 900 : 40 + ((n * 37) % 160);
  return { ts, service, route, region, method: route === '/api/pay' ? 'POST' : 'GET', status, latency_ms: latency };
}

function definitions(team: string, receiverUrl: string, people: DemoPerson[]): string {
  const users = people
    .filter((p) => p.role !== 'viewer')
    .map(
      (p) => `apiVersion: keel/v1
kind: User
metadata: {name: ${p.handle}}
spec:
  email: ${p.email}
  name: ${p.name}
  timeZone: UTC
  contactMethods:
    - {name: phone-app, type: webhook, url: "${receiverUrl}/${p.handle}"}
`,
    )
    .join('---\n');
  const onCall = people.filter((p) => p.role === 'admin' || p.role === 'responder').map((p) => p.handle);
  const today = new Date().toISOString().slice(0, 10);
  const slo = (name: string, service: string, display: string, total: string, good: string, target: number, breakdown: string) => `apiVersion: openslo/v1
kind: SLO
metadata: {name: ${name}, displayName: ${display}}
spec:
  service: ${service}
  indicator:
    metadata: {name: ${name}-sli}
    spec:
      ratioMetric:
        counter: true
        total: {metricSource: {type: keel, spec: {query: '${total}'}}}
        good: {metricSource: {type: keel, spec: {query: '${good}'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  breakdown: [${breakdown}]
  objectives: [{displayName: ${display.split(' ')[1]}, target: ${target}}]
`;
  return `# keel demo: team ${team}
${users}---
apiVersion: keel/v1
kind: Schedule
metadata: {name: primary}
spec:
  timeZone: UTC
  layers:
    - {name: daily, users: [${onCall.join(', ')}], start: "${today}", turn: 1d, handoff: "00:00"}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: shop-oncall}
spec:
  steps:
    - notify: {schedules: [primary]}
      wait: 2m
    - notify: {users: [${onCall.join(', ')}]}
      wait: 10m
---
apiVersion: keel/v1
kind: Service
metadata: {name: checkout}
spec: {description: Cart and payments, escalationPolicy: shop-oncall}
---
apiVersion: keel/v1
kind: Service
metadata: {name: catalog}
spec: {description: Search and product pages, escalationPolicy: shop-oncall}
---
${slo('checkout-availability', 'checkout', 'Checkout availability', 'service == "checkout"', 'status < 500', 0.995, 'route, region')}---
${slo('checkout-latency', 'checkout', 'Checkout latency', 'service == "checkout"', 'latency_ms < 1000', 0.99, 'route, region')}---
${slo('catalog-availability', 'catalog', 'Catalog availability', 'service == "catalog"', 'status < 500', 0.995, 'route')}`;
}

async function ignoreConflict<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) return undefined;
    throw e;
  }
}

async function startReceiver(pages: DemoPage[], log: (l: string) => void): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { event?: string; incident?: DemoPage['incident'] } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        body = {};
      }
      const page: DemoPage = { at: new Date().toISOString(), to: (req.url ?? '/').slice(1), event: body.event ?? 'unknown', incident: body.incident };
      pages.push(page);
      log(`PAGE → ${page.to}: ${page.event} ${page.incident ? `#${page.incident.number} ${page.incident.title} (${page.incident.url})` : ''}`);
      res.statusCode = 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function runDemo(options: DemoOptions = {}): Promise<Demo> {
  const log = options.log ?? (() => undefined);
  const team = options.team ?? DEMO_TEAM;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  try {
    let url = options.url;
    let adminKey = options.apiKey;
    let keel: KeelProcess | undefined;
    let dataDir: string | undefined;
    if (!url) {
      dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'keel-demo-'));
      mkdirSync(dataDir, { recursive: true });
      // Evaluate every 5 s instead of 30 s, so the outage pages within seconds.
      writeFileSync(join(dataDir, 'keel.yaml'), 'slo:\n  evaluationInterval: 5s\n');
      log(`starting Keel on ${dataDir} …`);
      keel = await spawnKeel({ dataDir, ...(options.port ? { port: options.port } : {}), keepDataDir: true });
      const k = keel;
      stops.push(() => k.stop());
      url = keel.url;
      adminKey = keel.adminKey;
    }
    if (!adminKey) throw new ApiError(401, 'unauthorized', 'keel demo against a running Keel needs an admin key of its system team (--api-key or KEEL_API_KEY)');
    const base = url.replace(/\/+$/, '');
    const admin = new KeelClient({ url: base, apiKey: adminKey });

    await ignoreConflict(admin.call('POST', '/v1/tenants', { body: { id: team } }));
    const key = await admin.call<{ key: string }>('POST', '/v1/keys', { body: { tenant: team, scopes: ['admin'], name: 'keel demo' } });
    const api = new KeelClient({ url: base, apiKey: key.key });
    log(`team "${team}" ready`);

    const pages: DemoPage[] = [];
    const rx = await startReceiver(pages, log);
    // Keel may still be paging it over kept-alive connections: close() alone waits for those.
    stops.push(
      () =>
        new Promise<void>((r) => {
          rx.server.close(() => r());
          rx.server.closeAllConnections();
        }),
    );

    const password = () => `demo-${randomBytes(6).toString('base64url')}`;
    const people: DemoPerson[] = [
      { handle: 'ann', email: `ann@${team}.keel.test`, name: 'Ann Lee', role: 'admin', password: password() },
      { handle: 'bob', email: `bob@${team}.keel.test`, name: 'Bob Diaz', role: 'responder', password: password() },
      { handle: 'eve', email: `eve@${team}.keel.test`, name: 'Eve Park', role: 'editor', password: password() },
      { handle: 'vic', email: `vic@${team}.keel.test`, name: 'Vic Moss', role: 'viewer', password: password() },
    ];
    for (const p of people) {
      const added = await ignoreConflict(api.call('POST', '/v1/users', { body: { email: p.email, name: p.name, role: p.role, password: p.password } }));
      // Run again on the same Keel: the person exists; give them this run's password.
      if (!added) await api.call('PUT', `/v1/users/${encodeURIComponent(p.email)}/password`, { body: { password: p.password } });
    }

    // Two hours of history, so the charts have a shape; then live traffic.
    const now = Date.now();
    let n = 0;
    const send = async (events: Record<string, unknown>[]) => {
      const body = events.map((e) => JSON.stringify(e)).join('\n');
      await api.call('POST', '/v1/events', { raw: body, headers: { 'content-type': 'application/x-ndjson' } });
    };
    for (let from = now - 2 * 3_600_000; from < now; from += 600_000) {
      const batch = [];
      for (let ts = from; ts < Math.min(now, from + 600_000); ts += 3000) batch.push(demoEvent(ts, n++, false));
      await send(batch);
    }
    log('two hours of history sent');
    // Applied after the history: new SLOs count it from the event log (backfill) instead of
    // raising "no data" alerts while it arrives.
    await api.call('POST', '/v1/definitions/apply', { body: { sources: [{ file: 'keel-demo.yaml', content: definitions(team, rx.url, people) }] } });
    log('people, schedule, escalation policy, services and SLOs applied');
    const outageAt = Date.now() + (options.outageAfterMs ?? 20_000);
    let healed = false;
    const rate = options.rate ?? 20;
    let announced = false;
    const tick = setInterval(() => {
      const t = Date.now();
      const broken = t >= outageAt && !healed;
      if (broken && !announced) {
        announced = true;
        log('OUTAGE: payments in eu-west now fail (503)');
      }
      const batch = Array.from({ length: rate }, (_, i) => demoEvent(t - 1000 + Math.floor((i * 1000) / rate), n++, broken));
      send(batch).catch((e: unknown) => log(`sending traffic failed: ${(e as Error).message}`));
    }, 1000);
    stops.push(async () => clearInterval(tick));
    // Ask for an evaluation now and then, so a running Keel with a long interval pages soon too.
    const evaluate = setInterval(() => {
      if (Date.now() >= outageAt) api.call('POST', '/v1/slo-evaluations').catch(() => undefined);
    }, 5000);
    stops.push(async () => clearInterval(evaluate));

    return {
      url: base,
      team,
      teamKey: key.key,
      people,
      receiverUrl: rx.url,
      pages,
      dataDir,
      outageAt,
      incident: async (timeoutMs = 180_000) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const list = await api.call<{ incidents: { id: string; number: number; title: string; service: string | null; opened_at: string }[] }>('GET', '/v1/incidents', {
            query: { state: 'all', service: 'checkout', limit: 1 },
          });
          const i = list.incidents[0];
          if (i && Date.parse(i.opened_at) >= outageAt - 1000) return { id: i.id, number: i.number, title: i.title };
          if (Date.now() > deadline) throw new Error(`no incident opened within ${Math.round(timeoutMs / 1000)} s of the outage`);
          await new Promise((r) => setTimeout(r, 500));
        }
      },
      heal: () => {
        healed = true;
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
