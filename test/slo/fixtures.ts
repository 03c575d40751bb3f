/** YAML documents and helpers shared by the SLO tests. */
import { expect } from 'vitest';
import { http } from '../helpers/keel.js';

export const SERVICE = `apiVersion: openslo/v1
kind: Service
metadata:
  name: checkout
spec:
  description: Checkout
`;

export function ratioSlo(
  name: string,
  o: { total?: string; good?: string; bad?: string; target?: number; window?: string; breakdown?: string[]; method?: string; extra?: string; objectives?: string } = {},
): string {
  const good = o.bad
    ? `bad:\n          metricSource:\n            type: keel\n            spec:\n              query: ${JSON.stringify(o.bad)}`
    : `good:\n          metricSource:\n            type: keel\n            spec:\n              query: ${JSON.stringify(o.good ?? 'status < 500')}`;
  return `apiVersion: openslo/v1
kind: SLO
metadata:
  name: ${name}
spec:
  service: checkout
  indicator:
    metadata:
      name: ${name}-sli
    spec:
      ratioMetric:
        counter: true
        ${good}
        total:
          metricSource:
            type: keel
            spec:
              query: ${JSON.stringify(o.total ?? 'service == "checkout"')}
  timeWindow:
    - duration: ${o.window ?? '30d'}
      isRolling: true
  budgetingMethod: ${o.method ?? 'Occurrences'}
${o.breakdown ? `  breakdown: [${o.breakdown.join(', ')}]\n` : ''}${o.extra ?? ''}  objectives:
${o.objectives ?? `    - displayName: availability\n      target: ${o.target ?? 0.99}\n`}`;
}

export async function applyYaml(url: string, key: string, content: string, file = 'slos.yaml') {
  return http(`${url}/v1/definitions/apply`, { key, json: { sources: [{ file, content }] } });
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until every backfill is done and the aggregator has processed the whole log. */
export async function settled(url: string, key: string, adminKey = key): Promise<void> {
  await eventually(
    async () => {
      const b = await http(`${url}/v1/slo-backfills`, { key });
      if (b.status !== 200 || b.body.backfills.some((x: { state: string }) => x.state !== 'done')) return undefined;
      const log = await http(`${url}/v1/log`, { key: adminKey });
      const slo = log.body.consumers.find((c: { name: string }) => c.name === 'slo');
      const last = log.body.lastPositions[0];
      return last === 0 || (slo && slo.position >= last) ? true : undefined;
    },
    60_000,
    'SLO counters settled',
  );
}

export async function status(url: string, key: string, name: string) {
  const r = await http(`${url}/v1/slos/${name}`, { key });
  expect(r.status).toBe(200);
  return r.body;
}
