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
