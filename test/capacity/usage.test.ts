/**
 * Usage metering in the embedded mode: the `usage` processor counts every accepted event and its
 * bytes per tenant per minute; GET /v1/usage and `keel usage` read it back, tenant-scoped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { runCliWithEnv } from '../helpers/cli.js';

let t: TestKeel;
const keys: Record<string, string> = {};

async function createKey(tenant: string, scopes: string[]): Promise<string> {
  const r = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant, scopes } });
  expect(r.status).toBe(201);
  return r.body.key;
}

async function send(key: string, events: unknown[]): Promise<{ accepted: number; bytes: number }> {
  const body = ndjson(events);
  const r = await http(`${t.url}/v1/events`, { method: 'POST', key, body, headers: { 'content-type': 'application/x-ndjson' } });
  expect(r.status).toBe(202);
  return { accepted: r.body.accepted, bytes: Buffer.byteLength(body) };
}

async function usage(key: string, query = ''): Promise<{ status: number; body: any }> {
  return http(`${t.url}/v1/usage${query}`, { key });
}

/** Waits until the processor has counted what was sent (it runs in the background). */
async function totalsWhenCounted(key: string, query: string, expected: Record<string, number>): Promise<any[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await usage(key, query);
    expect(r.status).toBe(200);
    const got = Object.fromEntries(r.body.totals.map((x: any) => [x.tenant, x.events]));
    if (Object.entries(expected).every(([k, v]) => got[k] === v)) return r.body.totals;
    if (Date.now() > deadline) throw new Error(`usage never reached ${JSON.stringify(expected)}: ${JSON.stringify(got)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const sent = { acme: { events: 0, bytes: 0 }, beta: { events: 0, bytes: 0 } };

beforeAll(async () => {
  t = await startTestKeel();
  keys.acmeIngest = await createKey('acme', ['ingest']);
  keys.acmeRead = await createKey('acme', ['read']);
  keys.betaIngest = await createKey('beta', ['ingest']);
  for (let i = 0; i < 3; i++) {
    const a = await send(
      keys.acmeIngest!,
      Array.from({ length: 40 + i }, (_, k) => ({ service: 'checkout', k, i })),
    );
    sent.acme.events += a.accepted;
    sent.acme.bytes += a.bytes;
  }
  const b = await send(
    keys.betaIngest!,
    Array.from({ length: 7 }, (_, k) => ({ service: 'search', k })),
  );
  sent.beta.events += b.accepted;
  sent.beta.bytes += b.bytes;
});
afterAll(async () => t?.close());

describe('GET /v1/usage', () => {
  it('counts every accepted event and its stored bytes per tenant', async () => {
    const totals = await totalsWhenCounted(t.adminKey, '', { acme: sent.acme.events, beta: sent.beta.events });
    expect(totals).toEqual([
      { tenant: 'acme', events: 123, bytes: sent.acme.bytes },
      { tenant: 'beta', events: 7, bytes: sent.beta.bytes },
    ]);
  });

  it('buckets by minute, hour or day with the same totals', async () => {
    const minute = await usage(t.adminKey, '?tenant=acme');
    expect(minute.body.step).toBe('minute');
    expect(minute.body.usage.reduce((s: number, u: any) => s + u.events, 0)).toBe(sent.acme.events);
    for (const u of minute.body.usage) expect(Date.parse(u.start) % 60_000).toBe(0);
    const from = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const day = await usage(t.adminKey, `?step=day&from=${from}`);
    expect(day.status).toBe(200);
    expect(day.body.totals).toEqual(minute.body.totals.concat(day.body.totals.filter((x: any) => x.tenant === 'beta')));
    for (const u of day.body.usage) expect(Date.parse(u.start) % 86_400_000).toBe(0);
  });

  it('shows a tenant only its own usage', async () => {
    const own = await usage(keys.acmeRead!);
    expect(own.status).toBe(200);
    expect(own.body.totals.map((x: any) => x.tenant)).toEqual(['acme']);
    const other = await usage(keys.acmeRead!, '?tenant=beta');
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('not_found');
  });

  it('refuses bad input with a precise 4xx', async () => {
    const cases: [string, string | undefined, number, string][] = [
      ['?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', t.adminKey, 400, '"from" must be before "to"'],
      ['?from=yesterday', t.adminKey, 400, 'from: must be an RFC 3339 time'],
      ['?step=week', t.adminKey, 400, 'step'],
      ['?colour=blue', t.adminKey, 400, 'unknown field(s): colour'],
      ['?tenant=Not%20Valid', t.adminKey, 400, 'tenant'],
      ['?from=0&step=minute', t.adminKey, 400, 'more than 10000; narrow it or use a larger step'],
      ['', keys.acmeIngest, 403, 'usage:read'],
      ['', undefined, 401, 'missing credentials'],
    ];
    for (const [query, key, status, message] of cases) {
      const r = await http(`${t.url}/v1/usage${query}`, key ? { key } : {});
      expect({ query, status: r.status }).toEqual({ query, status });
      expect(r.body.error.message).toContain(message);
    }
  });
});

describe('keel usage', () => {
  it('prints totals as JSON and a table', async () => {
    const env = { KEEL_URL: t.url, KEEL_API_KEY: t.adminKey };
    const json = await runCliWithEnv(['usage', '--totals', '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).totals).toEqual([
      { tenant: 'acme', events: sent.acme.events, bytes: sent.acme.bytes },
      { tenant: 'beta', events: sent.beta.events, bytes: sent.beta.bytes },
    ]);
    const table = await runCliWithEnv(['usage', '--step', 'hour', '--tenant', 'beta'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/TENANT\s+START\s+EVENTS\s+BYTES/);
    expect(table.stdout).toMatch(/beta\s+\S+T\S+Z\s+7\s/);
  });

  it('exits 1 with the server’s message on a refused request, 0 on --help', async () => {
    const bad = await runCliWithEnv(['usage', '--step', 'week'], { KEEL_URL: t.url, KEEL_API_KEY: t.adminKey });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('400 validation_failed');
    const help = await runCliWithEnv(['usage', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--step <step>');
  });
});
