/**
 * The SLOs `keel bench slo` aggregates: realistic filters over the bench events of `events.ts`
 * (availability and latency per service, a region subset, a breakdown). More than ten repeats
 * them with other thresholds.
 */
import YAML from 'yaml';

const TEMPLATES: { total?: string; good?: string; bad?: string; value?: string; filter?: string; op?: string; limit?: number; breakdown?: string[] }[] = [
  { total: 'service == "checkout-api"', good: 'status < 500' },
  { value: 'latency_ms', filter: 'service == "checkout-api" && method == "POST"', op: 'lte', limit: 300 },
  { total: 'service == "search-api"', bad: 'status >= 500' },
  { value: 'latency_ms', filter: 'service == "search-api"', op: 'lt', limit: 100 },
  { total: 'service == "cart-service" && route.startsWith("/api/v1/cart")', good: 'status != 503' },
  { total: 'service == "auth-service"', good: 'status < 500 && latency_ms < 1000' },
  { total: 'service == "payments-gateway" && region in ["eu-west-1", "us-east-1"]', good: 'status < 500' },
  { value: 'latency_ms', filter: 'service == "catalog-service"', op: 'lt', limit: 250 },
  { total: 'status >= 100', good: 'status < 500', breakdown: ['service', 'region'] },
  { total: 'region.startsWith("eu-") && method == "GET"', good: 'status != 503 && latency_ms <= 500' },
];

const source = (query: string) => ({ metricSource: { type: 'keel', spec: { query } } });

export function benchSloDocuments(n: number): string {
  const docs: unknown[] = [{ apiVersion: 'openslo/v1', kind: 'Service', metadata: { name: 'shop' }, spec: { description: 'The bench shop' } }];
  for (let i = 0; i < n; i++) {
    const t = TEMPLATES[i % TEMPLATES.length]!;
    const round = Math.floor(i / TEMPLATES.length);
    const indicator = t.value
      ? { thresholdMetric: { metricSource: { type: 'keel', spec: { query: t.value, filter: t.filter } } } }
      : { ratioMetric: { counter: true, total: source(t.total!), ...(t.good ? { good: source(t.good) } : { bad: source(t.bad!) }) } };
    const objective = t.value ? { op: t.op, value: (t.limit ?? 100) + round * 50, target: 0.95 } : { target: round % 2 === 0 ? 0.99 : 0.995 };
    docs.push({
      apiVersion: 'openslo/v1',
      kind: 'SLO',
      metadata: { name: `bench-${i}` },
      spec: {
        service: 'shop',
        indicator: { metadata: { name: `bench-${i}-sli` }, spec: indicator },
        timeWindow: [{ duration: '30d', isRolling: true }],
        budgetingMethod: 'Occurrences',
        ...(t.breakdown ? { breakdown: t.breakdown } : {}),
        objectives: [objective],
      },
    });
  }
  return docs.map((d) => YAML.stringify(d)).join('---\n');
}

/**
 * A realistic fleet: n SLOs over n/10 services, ten per service as a platform team writes them —
 * availability and latency of the service, availability of three routes and latency of two,
 * availability of the enterprise tier and latency of the paid tiers, and an availability SLO
 * broken down by region and route. Events for it come from `fleetBodies` (events.ts).
 */
export function fleetSloDocuments(n: number): string {
  const services = Math.max(1, Math.ceil(n / 10));
  const docs: unknown[] = [];
  for (let k = 0; k < services; k++) docs.push({ apiVersion: 'openslo/v1', kind: 'Service', metadata: { name: fleetService(k) }, spec: { description: 'A fleet service' } });
  const ratio = (total: string, good: string | undefined, bad?: string) => ({
    ratioMetric: { counter: true, total: source(total), ...(good !== undefined ? { good: source(good) } : { bad: source(bad!) }) },
  });
  const latency = (filter: string) => ({ thresholdMetric: { metricSource: { type: 'keel', spec: { query: 'latency_ms', filter } } } });
  for (let i = 0; i < n; i++) {
    const k = Math.floor(i / 10);
    const svc = `service == "${fleetService(k)}"`;
    const route = (j: number) => `${svc} && route == "${fleetRoute(k, j)}"`;
    const shapes: [unknown, { op?: string; value?: number; target: number }, string[]?][] = [
      [ratio(svc, 'status < 500'), { target: 0.999 }],
      [latency(svc), { op: 'lte', value: 300, target: 0.99 }],
      [ratio(route(0), 'status < 500'), { target: 0.999 }],
      [ratio(route(1), 'status < 500'), { target: 0.995 }],
      [ratio(route(2), 'status != 503'), { target: 0.99 }],
      [latency(route(0)), { op: 'lte', value: 250, target: 0.99 }],
      [latency(route(1)), { op: 'lt', value: 500, target: 0.95 }],
      [ratio(`${svc} && tier == "enterprise"`, 'status < 500'), { target: 0.9995 }],
      [latency(`${svc} && tier in ["pro", "enterprise"]`), { op: 'lte', value: 400, target: 0.99 }],
      [ratio(svc, undefined, 'status >= 500'), { target: 0.999 }, ['region', 'route']],
    ];
    const [indicator, objective, breakdown] = shapes[i % 10]!;
    docs.push({
      apiVersion: 'openslo/v1',
      kind: 'SLO',
      metadata: { name: `fleet-${i}` },
      spec: {
        service: fleetService(k),
        indicator: { metadata: { name: `fleet-${i}-sli` }, spec: indicator },
        timeWindow: [{ duration: '30d', isRolling: true }],
        budgetingMethod: 'Occurrences',
        ...(breakdown ? { breakdown } : {}),
        objectives: [objective],
      },
    });
  }
  return docs.map((d) => YAML.stringify(d)).join('---\n');
}

export const fleetService = (k: number) => `svc-${k.toString().padStart(4, '0')}`;
export const fleetRoute = (k: number, j: number) => `/api/v${1 + (k % 2)}/svc-${k}/r${j}`;

/** An SLO that counts only the freshness probes of the bench. */
export const PROBE_SLO = `apiVersion: openslo/v1
kind: SLO
metadata:
  name: freshness-probe
spec:
  service: shop
  indicator:
    metadata:
      name: freshness-probe
    spec:
      ratioMetric:
        total:
          metricSource:
            type: keel
            spec:
              query: probe == true
        good:
          metricSource:
            type: keel
            spec:
              query: probe == true
  timeWindow:
    - duration: 1d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.9
`;
