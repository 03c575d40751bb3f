/**
 * The `Limit` kind end to end (embedded): usage from the tenant's own events (CEL filter, numeric
 * field, aggregate per minute), capacity a number or a field; a plan warning for a field no recent
 * event has; nonsense capacities and horizons refused with the path; the limit in the report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateOf, compileTenantLimits, foldLimitEvents, mergeMinute, type LimitMinute } from '../../src/capacity/limit-fold.js';
import { parseLimitDocument, type LimitSpec } from '../../src/capacity/limit-kind.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';

const doc = (spec: Record<string, unknown>, name = 'cpu') => ({ apiVersion: 'keel/v1', kind: 'Limit', metadata: { name }, spec });

describe('Limit fold (pure)', () => {
  it('aggregates the usage and capacity fields of matching events per minute', () => {
    const parsed = parseLimitDocument(doc({ filter: 'metric == "cpu" && region == "eu"', usage: { field: 'cpu.used', aggregate: 'avg' }, capacity: { field: 'cpu.total' } }));
    expect(parsed.ok).toBe(true);
    const spec = (parsed as { spec: LimitSpec }).spec;
    const c = compileTenantLimits([{ name: 'cpu', spec }]);
    const acc = new Map<string, LimitMinute>();
    foldLimitEvents(acc, c, 'acme', 0, 60_000, [
      { metric: 'cpu', region: 'eu', cpu: { used: 10, total: 64 } },
      { metric: 'cpu', region: 'eu', cpu: { used: 30, total: 64 } },
      { metric: 'cpu', region: 'us', cpu: { used: 1000, total: 64 } },
      { metric: 'mem', region: 'eu', cpu: { used: 1000, total: 64 } },
      { metric: 'cpu', region: 'eu', cpu: { used: 'lots' } },
      { metric: 'cpu', region: 'eu' },
    ]);
    const m = [...acc.values()];
    expect(m).toEqual([{ tenant: 'acme', name: 'cpu', minute: 60_000, partition: 0, n: 2, sum: 40, max: 30, capN: 2, capSum: 128, capMax: 64 }]);
    expect(aggregateOf('avg', m[0]!)).toBe(20);
    expect(aggregateOf('sum', m[0]!)).toBe(40);
    expect(aggregateOf('max', m[0]!)).toBe(30);
    // Two partitions' rows of one minute combine.
    expect(mergeMinute([m[0]!, { ...m[0]!, n: 1, sum: 50, max: 50, capN: 1, capSum: 60, capMax: 60 }])).toEqual({ n: 3, sum: 90, max: 50, capN: 3, capSum: 188, capMax: 64 });
  });

  it('refuses nonsense with the path', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ usage: { field: 'x' }, capacity: 0 }, 'spec.capacity', 'must be a number above 0'],
      [{ usage: { field: 'x' }, capacity: -5 }, 'spec.capacity', 'must be a number above 0'],
      [{ usage: { field: 'x' }, capacity: 1e30 }, 'spec.capacity', 'at most'],
      [{ usage: { field: 'x' }, capacity: 10, horizon: '0d' }, 'spec.horizon', '"0d" is not a duration between 1h and 5y'],
      [{ usage: { field: 'x' }, capacity: 10, horizon: 'soon' }, 'spec.horizon', '"soon" is not a duration'],
      [{ usage: { field: 'x', aggregate: 'median' }, capacity: 10 }, 'spec.usage.aggregate', ''],
      [{ usage: { field: '9lives' }, capacity: 10 }, 'spec.usage.field', 'dotted attribute path'],
      [{ usage: { field: 'x' }, capacity: { field: 'x' } }, 'spec.capacity.field', 'usage field itself'],
      [{ usage: { field: 'x' }, capacity: 10, filter: 'metric ==' }, 'spec.filter', ''],
      [{ capacity: 10 }, 'spec.usage', ''],
    ];
    for (const [spec, path, message] of cases) {
      const r = parseLimitDocument(doc(spec));
      expect(r.ok, JSON.stringify(spec)).toBe(false);
      const errors = (r as { errors: { path: (string | number)[]; message: string }[] }).errors;
      const e = errors.find((x) => x.path.join('.') === path);
      expect(e, `${JSON.stringify(spec)} → ${JSON.stringify(errors)}`).toBeDefined();
      expect(e!.message).toContain(message);
    }
  });
});

describe('Limit end to end', () => {
  let t: TestKeel;
  let admin: string;
  let ingest: string;
  beforeAll(async () => {
    t = await startTestKeel({ capacity: { sampleInterval: '300ms' } });
    admin = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'] } })).body.key;
    ingest = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['ingest'] } })).body.key;
    const events = [
      { metric: 'cpu', cluster: 'prod', cores: { used: 40, allocatable: 64 } },
      { metric: 'cpu', cluster: 'prod', cores: { used: 48, allocatable: 64 } },
      { metric: 'cpu', cluster: 'dev', cores: { used: 63, allocatable: 64 } },
      { metric: 'seats', used: 90 },
    ];
    expect((await http(`${t.url}/v1/events`, { method: 'POST', key: ingest, body: ndjson(events), headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
  });
  afterAll(async () => t?.close());

  const yaml = (usageField: string) => `apiVersion: keel/v1
kind: Limit
metadata: { name: prod-cpu }
spec:
  title: Prod cluster CPU
  unit: cores
  filter: 'metric == "cpu" && cluster == "prod"'
  usage: { field: ${usageField}, aggregate: max }
  capacity: { field: cores.allocatable }
  horizon: 30d
---
apiVersion: keel/v1
kind: Limit
metadata: { name: seats }
spec:
  usage: { field: used, aggregate: sum }
  filter: 'metric == "seats"'
  capacity: 100
`;

  it('warns at plan when the usage field is in no recent event', async () => {
    const plan = await http(`${t.url}/v1/definitions/plan`, { key: admin, json: { sources: [{ file: 'limits.yaml', content: yaml('cores.usd') }] } });
    expect(plan.status).toBe(200);
    expect(plan.body.warnings.filter((w: any) => w.kind === 'Limit').map((w: any) => ({ name: w.name, path: w.path, message: w.message }))).toEqual([
      { name: 'prod-cpu', path: 'spec.usage.field', message: 'no recent event of this tenant has the attribute "cores.usd" (read by the usage field): the limit has no usage; check the name' },
    ]);
    const good = await http(`${t.url}/v1/definitions/plan`, { key: admin, json: { sources: [{ file: 'limits.yaml', content: yaml('cores.used') }] } });
    expect(good.body.warnings.filter((w: any) => w.kind === 'Limit')).toEqual([]);
  });

  it('refuses a nonsense capacity at apply with file, line and path', async () => {
    const bad = yaml('cores.used').replace('capacity: 100', 'capacity: -1');
    const r = await http(`${t.url}/v1/definitions/apply`, { key: admin, json: { sources: [{ file: 'limits.yaml', content: bad }] } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('spec.capacity');
    expect(JSON.stringify(r.body)).toContain('must be a number above 0');
  });

  it('tracks the limits from the events: usage, capacity from a field or a number, in the report', async () => {
    const applied = await http(`${t.url}/v1/definitions/apply`, { key: admin, json: { sources: [{ file: 'limits.yaml', content: yaml('cores.used') }] } });
    expect(applied.status).toBe(200);
    // The events were sent before the Limits existed: send the same again, now counted.
    const events = [
      { metric: 'cpu', cluster: 'prod', cores: { used: 40, allocatable: 64 } },
      { metric: 'cpu', cluster: 'prod', cores: { used: 48, allocatable: 64 } },
      { metric: 'cpu', cluster: 'dev', cores: { used: 63, allocatable: 64 } },
      { metric: 'seats', used: 90 },
    ];
    const deadline = Date.now() + 20_000;
    let limits: any[] = [];
    for (;;) {
      expect((await http(`${t.url}/v1/events`, { method: 'POST', key: ingest, body: ndjson(events), headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
      await new Promise((r) => setTimeout(r, 400));
      limits = (await http(`${t.url}/v1/capacity`, { key: admin })).body.limits;
      if (limits.some((l) => l.id === 'limit.acme.prod-cpu') && limits.some((l) => l.id === 'limit.acme.seats')) break;
      if (Date.now() > deadline) throw new Error(`limits never sampled: ${JSON.stringify(limits.map((l) => l.id))}`);
    }
    const cpu = limits.find((l) => l.id === 'limit.acme.prod-cpu');
    // max of the prod events' cores.used (dev's 63 filtered out), capacity the field's max.
    expect(cpu).toMatchObject({ kind: 'user', title: 'Prod cluster CPU', unit: 'cores', usage: 48, capacity: 64, utilisation: 0.75 });
    const seats = limits.find((l) => l.id === 'limit.acme.seats');
    // sum per minute: at least one batch of 90 in the busiest minute; capacity the number.
    expect(seats.capacity).toBe(100);
    expect(seats.usage % 90).toBe(0);
    expect(seats.usage).toBeGreaterThanOrEqual(90);
  });

  it('raises utilisation alerts through the alert pipeline and exports the gauges', async () => {
    // prod-cpu at 75 %: no alert; seats at 90 % or over: a warning (critical from 95 %).
    const deadline = Date.now() + 20_000;
    let alerts: any[] = [];
    for (;;) {
      alerts = (await http(`${t.url}/v1/paging/alerts?limit=200`, { key: admin })).body.alerts;
      if (alerts.some((a) => a.dedup_key === 'capacity:limit.acme.seats:utilisation' && a.status === 'firing')) break;
      if (Date.now() > deadline) throw new Error(`no capacity alert: ${JSON.stringify(alerts)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const seats = alerts.find((a) => a.dedup_key === 'capacity:limit.acme.seats:utilisation');
    expect(seats).toMatchObject({ source: 'capacity', labels: { limit: 'limit.acme.seats', kind: 'user', condition: 'utilisation' } });
    expect(['warning', 'critical']).toContain(seats.severity);
    expect(seats.summary).toContain('of its capacity');
    expect(alerts.find((a) => a.dedup_key === 'capacity:limit.acme.prod-cpu:utilisation' && a.status === 'firing')).toBeUndefined();
    const metrics = await http(`${t.url}/metrics`, { key: t.adminKey });
    expect(String(metrics.body)).toMatch(/keel_capacity_utilisation_ratio\{limit="limit\.acme\.prod-cpu",tenant="acme"\} 0\.75/);
  });
});
