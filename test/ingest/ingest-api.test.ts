import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
let ingestKey: string;
let readKey: string;

async function createKey(tenant: string, scopes: string[]): Promise<string> {
  const r = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant, scopes } });
  expect(r.status).toBe(201);
  return r.body.key;
}

async function send(body: string | Buffer, headers: Record<string, string> = {}, key = ingestKey) {
  return http(`${t.url}/v1/events`, {
    method: 'POST',
    key,
    body,
    headers: { 'content-type': 'application/x-ndjson', ...headers },
  });
}

async function readAll(key = readKey): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  for (;;) {
    const r = await http(`${t.url}/v1/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { key });
    expect(r.status).toBe(200);
    out.push(...r.body.events);
    cursor = r.body.cursor;
    if (!r.body.has_more) return out;
  }
}

beforeAll(async () => {
  t = await startTestKeel({ ingest: { maxRequestBytes: 256 * 1024, maxEventBytes: 1024, maxEventsPerRequest: 100 } });
  ingestKey = await createKey('acme', ['ingest']);
  readKey = await createKey('acme', ['read']);
});
afterAll(async () => t?.close());

describe('POST /v1/events', () => {
  it('accepts valid NDJSON events, rejects bad lines one by one, and stores exactly the accepted ones', async () => {
    const before = (await readAll()).length;
    const body = [
      JSON.stringify({ service: 'checkout', status: 200, latency_ms: 12, marker: 'm1' }),
      '{"service": "checkout", "status": ',
      '[1, 2, 3]',
      JSON.stringify({ service: 'cart', ts: 'yesterday', marker: 'bad-ts' }),
      JSON.stringify({ service: 'cart', ts: Date.now() + 3_600_000, marker: 'future' }),
      JSON.stringify({ service: 'cart', tags: ['a', 'b'] }),
      JSON.stringify({ service: 'cart', http: { route: '/x', status: 500 }, marker: 'm2' }),
      '',
      JSON.stringify({ marker: 'x'.repeat(2000) }),
      JSON.stringify({ service: 'search', ts: '2026-11-25T10:00:00.5+01:00', marker: 'm3' }),
    ].join('\n');
    const r = await send(body);
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(3);
    expect(r.body.rejected).toBe(6);
    const byIndex = Object.fromEntries(r.body.errors.map((e: any) => [e.index, e]));
    expect(byIndex[1]).toMatchObject({ field: '', code: 'invalid_json' });
    expect(byIndex[2]).toMatchObject({ code: 'not_object', reason: 'event must be a JSON object, got an array' });
    expect(byIndex[3]).toMatchObject({ field: 'ts', code: 'invalid_ts' });
    expect(byIndex[4]).toMatchObject({ field: 'ts', code: 'future_ts' });
    expect(byIndex[5]).toMatchObject({ field: 'tags', code: 'invalid_attribute' });
    // The blank line is not an event: the oversized one is index 7, on line 9.
    expect(byIndex[7]).toMatchObject({ code: 'event_too_large', line: 9, reason: 'event is larger than 1024 bytes' });
    const stored = await readAll();
    expect(stored.length - before).toBe(3);
    const mine = stored.slice(before);
    expect(mine.map((e) => e.marker)).toEqual(['m1', 'm2', 'm3']);
    expect(mine[1]).toMatchObject({ http: { route: '/x', status: 500 } });
    // An event without ts is given its receive time; one with ts keeps it as sent.
    expect(typeof mine[0]!.ts).toBe('string');
    expect(Math.abs(Date.parse(mine[0]!.ts as string) - Date.now())).toBeLessThan(60_000);
    expect(mine[2]!.ts).toBe('2026-11-25T10:00:00.5+01:00');
  });

  it('accepts a JSON array and a single JSON object', async () => {
    const r = await send(JSON.stringify([{ a: 1 }, 'nope', { b: 2 }]), { 'content-type': 'application/json' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ accepted: 2, rejected: 1, errors: [{ index: 1, code: 'not_object' }] });
    const one = await send(JSON.stringify({ single: true }), { 'content-type': 'application/json; charset=utf-8' });
    expect(one.status).toBe(202);
    expect(one.body.accepted).toBe(1);
  });

  it('accepts gzip bodies', async () => {
    const body = gzipSync(ndjson([{ zipped: 1 }, { zipped: 2 }]));
    const r = await send(body, { 'content-encoding': 'gzip' });
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(2);
  });

  it('refuses a JSON array body that does not parse with the byte offset', async () => {
    const r = await send('[{"a":1},{"b":]', { 'content-type': 'application/json' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('malformed_body');
    expect(r.body.error.message).toContain('at byte 14');
  });

  it('refuses an empty body', async () => {
    for (const [body, type] of [
      ['', 'application/x-ndjson'],
      ['\n\n  \n', 'application/x-ndjson'],
      ['', 'application/json'],
      ['[]', 'application/json'],
    ] as const) {
      const r = await send(body, { 'content-type': type });
      expect(r.status, `${type} ${JSON.stringify(body)}`).toBe(400);
      expect(r.body.error.code).toBe('empty_body');
    }
  });

  it('answers 401 without a key, with a bad key, and with a revoked key', async () => {
    const none = await http(`${t.url}/v1/events`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/x-ndjson' } });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    const bad = await send('{}\n', {}, 'keel_not_a_real_key_at_all_0000000000');
    expect(bad.status).toBe(401);
    expect(bad.body.error.message).toBe('invalid API key');
    const created = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['ingest'] } });
    const ok = await send('{"x":1}\n', {}, created.body.key);
    expect(ok.status).toBe(202);
    const revoked = await http(`${t.url}/v1/keys/${created.body.id}`, { method: 'DELETE', key: t.adminKey });
    expect(revoked.status).toBe(200);
    const after = await send('{"x":1}\n', {}, created.body.key);
    expect(after.status).toBe(401);
    expect(after.body.error.message).toBe('API key has been revoked');
  });

  it('answers 403 when the key lacks the scope', async () => {
    const r = await send('{"x":1}\n', {}, readKey);
    expect(r.status).toBe(403);
    expect(r.body.error.message).toContain('scope "ingest"');
    const read = await http(`${t.url}/v1/events`, { key: ingestKey });
    expect(read.status).toBe(403);
  });

  it('answers 413 for a body over the limit, a gzip bomb, and too many events', async () => {
    const big = await send(Buffer.alloc(300 * 1024, 0x20));
    expect(big.status).toBe(413);
    expect(big.body.error.message).toContain('262144 bytes');
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(256 * 1024);
    const b = await send(bomb, { 'content-encoding': 'gzip' });
    expect(b.status).toBe(413);
    expect(b.body.error.message).toContain('once gzip is undone');
    const many = await send(ndjson(Array.from({ length: 101 }, (_, i) => ({ i }))));
    expect(many.status).toBe(413);
    expect(many.body.error.message).toContain('at most 100 per request');
  });

  it('answers 415 for an unsupported type or encoding, and 400 for broken gzip', async () => {
    const type = await send('a,b\n', { 'content-type': 'text/csv' });
    expect(type.status).toBe(415);
    expect(type.body.error.code).toBe('unsupported_media_type');
    const enc = await send('{}', { 'content-encoding': 'br' });
    expect(enc.status).toBe(415);
    expect(enc.body.error.code).toBe('unsupported_encoding');
    const broken = await send(Buffer.from('definitely not gzip'), { 'content-encoding': 'gzip' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toContain('not valid gzip');
  });

  it('answers a retried request with the same Idempotency-Key with the first answer and stores nothing twice', async () => {
    const before = (await readAll()).length;
    const body = ndjson([{ idem: 1 }, 'bad', { idem: 2 }]);
    const headers = { 'idempotency-key': 'retry-me-1' };
    const [a, b] = await Promise.all([send(body, headers), send(body, headers)]);
    const c = await send(body, headers);
    expect(a.status).toBe(202);
    expect(b.text).toBe(a.text);
    expect(c.text).toBe(a.text);
    expect(a.body.accepted).toBe(2);
    expect((await readAll()).length - before).toBe(2);
    const other = await send(ndjson([{ idem: 3 }]), headers);
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    const badKey = await send(body, { 'idempotency-key': 'has space' });
    expect(badKey.status).toBe(400);
  });

  it('keeps tenants apart', async () => {
    const otherIngest = await createKey('globex', ['ingest']);
    const otherRead = await createKey('globex', ['read']);
    expect((await send(ndjson([{ secret: 'globex-only' }]), {}, otherIngest)).status).toBe(202);
    const acme = await readAll(readKey);
    expect(acme.some((e) => e.secret === 'globex-only')).toBe(false);
    const globex = await readAll(otherRead);
    expect(globex).toHaveLength(1);
  });

  it('never answers 500 to hostile bodies', async () => {
    const bodies = ['\u0000\u0001', '{"a":"\ud800"}', '{'.repeat(5000), '"just a string"\n', 'null\n', '{"__proto__":{"x":1}}\n', Buffer.from([0xff, 0xfe, 0x0a, 0x7b, 0x7d])];
    for (const b of bodies) {
      for (const type of ['application/x-ndjson', 'application/json']) {
        const r = await send(b, { 'content-type': type });
        expect(r.status, `${type} ${String(b).slice(0, 20)}`).toBeLessThan(500);
      }
    }
  });
});

describe('GET /v1/events', () => {
  it('filters by time and pages with a cursor', async () => {
    const key = await createKey('paging', ['ingest', 'read']);
    const base = Date.parse('2026-11-20T00:00:00Z');
    const events = Array.from({ length: 30 }, (_, i) => ({ ts: base + i * 60_000, n: i }));
    expect((await send(ndjson(events.slice(0, 15)), {}, key)).status).toBe(202);
    expect((await send(ndjson(events.slice(15)), {}, key)).status).toBe(202);
    const seen: number[] = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const r = await http(`${t.url}/v1/events?from=${new Date(base + 5 * 60_000).toISOString()}&to=${base + 25 * 60_000}&limit=7${cursor ? `&cursor=${cursor}` : ''}`, { key });
      expect(r.status).toBe(200);
      seen.push(...r.body.events.map((e: any) => e.n));
      cursor = r.body.cursor;
      if (!r.body.has_more) break;
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 5));
  });

  it('rejects bad query parameters with the field named', async () => {
    const r = await http(`${t.url}/v1/events?from=last-tuesday`, { key: readKey });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('from');
    const c = await http(`${t.url}/v1/events?cursor=garbage`, { key: readKey });
    expect(c.status).toBe(400);
    const u = await http(`${t.url}/v1/events?colour=blue`, { key: readKey });
    expect(u.status).toBe(400);
    expect(u.body.error.message).toContain('colour');
    const l = await http(`${t.url}/v1/events?limit=0`, { key: readKey });
    expect(l.status).toBe(400);
    expect(l.body.error.message).toContain('limit');
  });
});
