/**
 * Capacity tracking end to end in the embedded mode: with no configuration the sampler records
 * every limit Keel has, GET /v1/capacity ranks them, a tenant sees only its own, bad forecast
 * options are 400s naming the field, and `keel capacity report` prints them (--json, --md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel } from '../helpers/cli.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { capacityReportAnswer, dailyQuotaAnswer, limitAnswer } from '../../src/capacity/schemas.js';

let t: TestKeel;
let acmeRead: string;

async function createKey(tenant: string, scopes: string[]): Promise<string> {
  const r = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant, scopes } });
  expect(r.status).toBe(201);
  return r.body.key;
}

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  t = await startTestKeel({ capacity: { sampleInterval: '200ms' }, quota: { eventsPerSecond: 1000, burst: 5000 } });
  const ingest = await createKey('acme', ['ingest']);
  acmeRead = await createKey('acme', ['read']);
  const r = await http(`${t.url}/v1/events`, { method: 'POST', key: ingest, body: ndjson(Array.from({ length: 50 }, (_, i) => ({ i }))), headers: { 'content-type': 'application/x-ndjson' } });
  expect(r.status).toBe(202);
  // Three samples of every limit, so forecasts can run.
  await waitFor(async () => {
    const r = await http(`${t.url}/v1/capacity/limits/tenant.acme.rate`, { key: t.adminKey });
    return r.status === 200 && r.body.samples >= 3 ? r.body : undefined;
  }, 'three samples');
});
afterAll(async () => t?.close());

describe('GET /v1/capacity', () => {
  it("tracks Keel's own limits without configuration", async () => {
    const r = await http(`${t.url}/v1/capacity`, { key: t.adminKey });
    expect(r.status).toBe(200);
    const ids = r.body.limits.map((l: any) => l.id);
    for (const id of ['tenant.acme.rate', 'tenant.default.rate', 'node.ingest', 'log.disk', 'log.max-bytes', 'disk.data', 'consumer.usage.lag']) expect(ids).toContain(id);
    const rate = r.body.limits.find((l: any) => l.id === 'tenant.acme.rate');
    expect(rate).toMatchObject({ tenant: 'acme', kind: 'rate_quota', unit: 'events/s', capacity: 1000 });
    // The measured embedded figure of BENCHMARKS.md.
    expect(r.body.limits.find((l: any) => l.id === 'node.ingest').capacity).toBe(558_500);
    // log.retention.maxBytes and log.maxBytes defaults: 50 GiB and 60 GiB.
    expect(r.body.limits.find((l: any) => l.id === 'log.disk').capacity).toBe(50 * 1024 ** 3);
    expect(r.body.limits.find((l: any) => l.id === 'log.max-bytes').capacity).toBe(60 * 1024 ** 3);
    expect(r.body.limits.find((l: any) => l.id === 'consumer.usage.lag').capacity).toBe(100_000_000);
    for (const l of r.body.limits) expect(['exhausted', 'forecast', 'not_before', 'unknown']).toContain(l.exhaustion.status);
  });

  it("a tenant key sees its own tenant's limits only; another tenant's limit is a 404", async () => {
    const r = await http(`${t.url}/v1/capacity`, { key: acmeRead });
    expect(r.status).toBe(200);
    expect(r.body.limits.map((l: any) => l.id)).toEqual(['tenant.acme.rate']);
    expect((await http(`${t.url}/v1/capacity/limits/tenant.default.rate`, { key: acmeRead })).status).toBe(404);
    expect((await http(`${t.url}/v1/capacity?tenant=default`, { key: acmeRead })).status).toBe(404);
  });

  it('one limit with its history', async () => {
    const r = await http(`${t.url}/v1/capacity/limits/tenant.acme.rate`, { key: acmeRead });
    expect(r.status).toBe(200);
    expect(r.body.history.length).toBeGreaterThanOrEqual(3);
    expect(r.body.history[0]).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT/), expect.any(Number)]);
  });

  it('answers as their declared response schemas say (strict: no field added or dropped)', async () => {
    const report = await http(`${t.url}/v1/capacity?growth=20%25/month`, { key: t.adminKey });
    expect(capacityReportAnswer.safeParse(report.body).error).toBeUndefined();
    const limit = await http(`${t.url}/v1/capacity/limits/tenant.acme.rate`, { key: t.adminKey });
    expect(limitAnswer.safeParse(limit.body).error).toBeUndefined();
    // On the system tenant: a daily quota's samples would add a limit to what acme's key sees below.
    expect((await http(`${t.url}/v1/capacity/quotas/default`, { key: t.adminKey, method: 'PUT', json: { eventsPerDay: 1_000_000 } })).status).toBe(200);
    const quota = await http(`${t.url}/v1/capacity/quotas/default`, { key: t.adminKey });
    expect(dailyQuotaAnswer.safeParse(quota.body).error).toBeUndefined();
    expect(quota.body).toMatchObject({ tenant: 'default', eventsPerDay: 1_000_000, remaining: 1_000_000 - quota.body.usedToday });
    expect((await http(`${t.url}/v1/capacity/quotas/default`, { key: t.adminKey, method: 'PUT', json: { eventsPerDay: null } })).status).toBe(200);
  });

  it('refuses nonsense with the field', async () => {
    const cases: [string, string][] = [
      ['?growth=fast', 'growth: "fast" is not a growth rate'],
      ['?horizon=0d', 'horizon: "0d" is not a duration between 1h and 5y'],
      ['?horizon=forever', 'horizon: "forever"'],
      ['?adjust=2026-05-01', 'adjust[0]: "2026-05-01" is not DATE:+N%'],
      ['?adjust=2026-05-01:+30%25,someday:+5%25', 'adjust[1]'],
      ['?adjust=2026-05-01:-150%25', 'must be above -100%'],
      ['?model=neural', 'model'],
      ['?colour=red', 'colour'],
    ];
    for (const [q, message] of cases) {
      const r = await http(`${t.url}/v1/capacity${q}`, { key: t.adminKey });
      expect({ q, status: r.status }).toEqual({ q, status: 400 });
      expect(r.body.error.message + JSON.stringify(r.body.error.details ?? [])).toContain(message);
    }
    expect((await http(`${t.url}/v1/capacity/limits/Not%20An%20Id`, { key: t.adminKey })).status).toBe(400);
  });
});

describe('keel capacity report', () => {
  it('prints the ranked table, --json and --md', async () => {
    const table = await keel(['capacity', 'report'], { url: t.url, key: t.adminKey });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/LIMIT\s+USE\s+UTIL\s+TREND\s+MODEL\s+EXHAUSTION/);
    expect(table.stdout).toMatch(/tenant\.acme\.rate\s+\S+\/1k events\/s/);
    const json = await keel(['capacity', 'report', '--json', '--growth', '20%/month'], { url: t.url, key: acmeRead });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).limits.map((l: any) => l.id)).toEqual(['tenant.acme.rate']);
    const md = await keel(['capacity', 'report', '--md'], { url: t.url, key: t.adminKey });
    expect(md.stdout).toContain('| limit | use / capacity | utilisation | trend | model (back-tested error) | exhaustion | action |');
    expect(md.stdout).toContain('`tenant.acme.rate` rate quota of tenant acme');
    const bad = await keel(['capacity', 'report', '--growth', 'fast'], { url: t.url, key: t.adminKey });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('growth: "fast"');
  });
});
