/**
 * Property-based tests: random and hostile input at the ingest parser (pure and over HTTP), the
 * YAML definitions loader and the JSON endpoints people reach (sign-in, users, keys, SSO). No
 * crash, no 500, no hang, and every valid event in a mixed batch is kept.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNdjson } from '../../src/ingest/parse-batch.js';
import type { IngestLimits } from '../../src/ingest/limits.js';
import { KeelError } from '../../src/core/errors.js';
import { assertSurvivesHostileInput } from '../helpers/hostile.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';

const limits: IngestLimits = { maxEventBytes: 64 * 1024, maxRequestBytes: 5 * 1024 * 1024, maxEventsPerRequest: 10_000, maxFutureSkewMs: 300_000, maxDepth: 8, maxIdLength: 256 };

/** An event Keel must accept: primitives and nested objects, a unique marker, no ts/id. */
const attrKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !['ts', 'id', 'marker'].includes(k));
const primitive = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
const nested = fc.dictionary(attrKey, fc.oneof(primitive, fc.dictionary(attrKey, primitive, { maxKeys: 3 })), { maxKeys: 3 });
const validEvent = fc.record({ attrs: fc.dictionary(attrKey, fc.oneof(primitive, nested), { maxKeys: 6 }), pastTs: fc.option(fc.integer({ min: 0, max: 1_000_000_000 })) });

/** A line Keel must reject, and why. */
const invalidLine = fc.oneof(
  fc.array(fc.jsonValue(), { maxLength: 3 }).map((a) => JSON.stringify(a)),
  fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.boolean(), fc.constant(null)).map((v) => JSON.stringify(v)),
  fc.dictionary(attrKey, primitive, { maxKeys: 3 }).map((o) => JSON.stringify(o).slice(0, -1)),
  fc.array(fc.integer(), { minLength: 0, maxLength: 3 }).map((a) => JSON.stringify({ list: a })),
  fc.string({ maxLength: 20 }).map((s) => JSON.stringify({ ts: `x${s}` })),
  fc.constant(JSON.stringify({ ts: Date.now() + 86_400_000 })),
  fc.constant('\u0000\u0001 not json'),
  fc.constant('{"deep":' + '{"a":'.repeat(12) + '1' + '}'.repeat(12) + '}'),
);

type Item = { valid: true; line: string; marker: string } | { valid: false; line: string };

const mixedBatch = fc
  .array(
    fc.oneof(
      validEvent.map((e) => ({ kind: 'valid' as const, e })),
      invalidLine.map((line) => ({ kind: 'invalid' as const, line })),
    ),
    { minLength: 1, maxLength: 40 },
  )
  .map((items) => {
    const run = Math.random().toString(36).slice(2);
    return items.map((it, i): Item => {
      if (it.kind === 'invalid') return { valid: false, line: it.line };
      const marker = `m-${run}-${i}`;
      const ev: Record<string, unknown> = { ...it.e.attrs, marker };
      if (it.e.pastTs !== null) ev.ts = Date.now() - it.e.pastTs;
      return { valid: true, line: JSON.stringify(ev), marker };
    });
  });

describe('the ingest parser (pure)', () => {
  it('keeps exactly the valid events of any mixed batch and explains every rejection', () => {
    fc.assert(
      fc.property(mixedBatch, fc.constantFrom('\n', '\r\n', '\n\n'), (items, sep) => {
        const body = Buffer.from(items.map((i) => i.line).join(sep) + sep);
        const r = parseNdjson(body, limits, Date.now());
        const valid = items.filter((i) => i.valid);
        expect(r.accepted).toBe(valid.length);
        expect(r.errors.map((e) => e.index)).toEqual(items.flatMap((it, i) => (it.valid ? [] : [i])));
        for (const e of r.errors) expect(e.reason.length).toBeGreaterThan(0);
        const kept = r.data
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { marker: string }).marker);
        expect(kept).toEqual(valid.map((v) => (v as { marker: string }).marker));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but a typed error on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        try {
          parseNdjson(Buffer.from(bytes), limits, Date.now());
        } catch (e) {
          expect(e).toBeInstanceOf(KeelError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('over HTTP', () => {
  let t: TestKeel;
  let ingestKey: string;
  let readKey: string;
  let acmeAdmin: string;
  beforeAll(async () => {
    t = await startTestKeel({ security: { passwords: { hashCost: 12 } }, ingest: { maxRequestBytes: 1024 * 1024, maxEventBytes: 64 * 1024 } });
    ingestKey = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['ingest'] } })).body.key;
    readKey = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['read'] } })).body.key;
    acmeAdmin = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'] } })).body.key;
  });
  afterAll(async () => t?.close());

  it('ingest keeps every valid event of a mixed batch, durably, and rejects the rest one by one', async () => {
    await fc.assert(
      fc.asyncProperty(mixedBatch, async (items) => {
        const before = await http(`${t.url}/v1/events?cursor=latest&limit=1`, { key: readKey });
        const res = await http(`${t.url}/v1/events`, { key: ingestKey, body: items.map((i) => i.line).join('\n') + '\n', headers: { 'content-type': 'application/x-ndjson' } });
        const valid = items.filter((i): i is Extract<Item, { valid: true }> => i.valid);
        expect(res.status).toBe(202);
        expect(res.body.accepted).toBe(valid.length);
        expect(res.body.rejected).toBe(items.length - valid.length);
        const stored = await http(`${t.url}/v1/events?cursor=${before.body.cursor}&limit=1000`, { key: readKey });
        expect(stored.body.events.map((e: { marker: string }) => e.marker)).toEqual(valid.map((v) => v.marker));
      }),
      { numRuns: 25 },
    );
  });

  it('ingest survives hostile bodies', async () => {
    await assertSurvivesHostileInput({ url: `${t.url}/v1/events`, headers: { authorization: `Bearer ${ingestKey}` }, contentType: 'application/x-ndjson' }, { runs: 60 });
  });

  it('ingest: one rule for JSON and NDJSON on invalid UTF-8, non-finite numbers, nesting depth and size', async () => {
    const send = (body: string | Buffer, type: string) => http(`${t.url}/v1/events`, { key: ingestKey, body, headers: { 'content-type': type } });
    // Any invalid UTF-8 sequence, anywhere in a string value, is refused at its byte offset: the
    // JSON body whole (400), the NDJSON line alone (the other lines are kept). Nothing becomes U+FFFD.
    const invalid = fc.constantFrom([0xff], [0xc3, 0x28], [0xe9], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 20 }), invalid, async (text, bad) => {
        const head = Buffer.from(`[{"ok":1},{"s":${JSON.stringify(text).slice(0, -1)}`);
        const json = Buffer.concat([head, Buffer.from(bad), Buffer.from('"}]')]);
        const j = await send(json, 'application/json');
        expect(j.status, j.text).toBe(400);
        expect(j.body.error.code).toBe('malformed_body');
        expect(j.body.error.message).toMatch(new RegExp(`^body is not valid UTF-8 at byte ${head.length} `));
        const lineHead = Buffer.from(`{"ok":1}\n{"s":${JSON.stringify(text).slice(0, -1)}`);
        const nd = await send(Buffer.concat([lineHead, Buffer.from(bad), Buffer.from('"}\n{"ok":2}\n')]), 'application/x-ndjson');
        expect(nd.status, nd.text).toBe(202);
        expect(nd.body).toEqual({
          accepted: 2,
          rejected: 1,
          errors: [{ index: 1, line: 2, field: '', code: 'invalid_utf8', reason: `not valid UTF-8 at byte ${lineHead.length} of the body (line 2, byte ${lineHead.length - 9} of the line)` }],
        });
      }),
      { numRuns: 25 },
    );
    // 1e400 is a field error in both formats, never a stored null.
    const outOfRange = { index: 0, field: 'req.bytes', code: 'invalid_number', reason: 'number is out of range (JSON numbers must be finite, at most ±1.79e308)' };
    for (const n of ['1e400', '-1e999']) {
      const j = await send(`[{"req":{"bytes":${n}}},{"ok":1}]`, 'application/json');
      expect(j.status, j.text).toBe(202);
      expect(j.body).toEqual({ accepted: 1, rejected: 1, errors: [outOfRange] });
      const nd = await send(`{"req":{"bytes":${n}}}\n{"ok":1}\n`, 'application/x-ndjson');
      expect(nd.body).toEqual({ accepted: 1, rejected: 1, errors: [{ ...outOfRange, line: 1 }] });
      const top = await send(`{"bytes":${n}}`, 'application/json');
      expect(top.body.errors).toEqual([{ ...outOfRange, field: 'bytes' }]);
    }
    // Depth: 8 levels of attribute objects, in both formats; 5,000 levels is a field error, not a 5xx.
    const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    for (const type of ['application/json', 'application/x-ndjson']) {
      const ok = await send(nested(9), type);
      expect(ok.body, type).toEqual({ accepted: 1, rejected: 0, errors: [] });
      const deep = await send(nested(5000), type);
      expect(deep.status, type).toBe(202);
      expect(deep.body.errors[0], type).toMatchObject({ code: 'too_deep', reason: 'objects nest deeper than 8 levels' });
      // Size: 64 KiB per event, 1 MiB per request here.
      const big = await send(JSON.stringify({ s: 'x'.repeat(70 * 1024) }), type);
      expect(big.body.errors[0], type).toMatchObject({ code: 'event_too_large', reason: `event is larger than ${64 * 1024} bytes` });
      const huge = await send('x'.repeat(1024 * 1024 + 1), type);
      expect(huge.status, type).toBe(413);
      expect(huge.body.error, type).toEqual({ code: 'payload_too_large', message: `request body is larger than ${1024 * 1024} bytes` });
    }
  });

  it('the YAML definitions loader survives hostile documents (random, nested, alias bombs) with 400s naming the problem', async () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`,
      ),
    ].join('\n');
    const yamlDoc = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.jsonValue({ maxDepth: 5 }).map((v) => `apiVersion: keel/v1\nkind: Service\nmetadata: ${JSON.stringify(v)}\nspec: ${JSON.stringify(v)}\n`),
      fc
        .record({
          apiVersion: fc.constantFrom('keel/v1', 'openslo/v1', 'v9', ''),
          kind: fc.constantFrom('Service', 'SLO', 'Nope', ''),
          name: fc.string({ maxLength: 70 }),
          spec: fc.jsonValue({ maxDepth: 3 }),
        })
        .map((d) => `apiVersion: ${JSON.stringify(d.apiVersion)}\nkind: ${JSON.stringify(d.kind)}\nmetadata:\n  name: ${JSON.stringify(d.name)}\nspec: ${JSON.stringify(d.spec)}\n`),
      fc.integer({ min: 100, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      fc.integer({ min: 100, max: 1_200 }).map((n) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}a${i}:`).join('\n')),
      fc.constant(bomb),
      fc.constant('---\n'.repeat(2000)),
      fc.constant('!!js/function "function(){}"'),
      fc.constant('a: !!binary |\n  AAAA\n'),
    );
    const exploded = await http(`${t.url}/v1/definitions/plan`, { key: acmeAdmin, json: { sources: [{ file: 'bomb.yaml', content: bomb }] } });
    expect(exploded.status).toBe(400);
    expect(exploded.body.error.message).toMatch(/bomb\.yaml:1: not valid YAML: Excessive alias count/);
    await fc.assert(
      fc.asyncProperty(fc.array(yamlDoc, { minLength: 1, maxLength: 3 }), async (docs) => {
        const r = await http(`${t.url}/v1/definitions/plan`, { key: acmeAdmin, json: { sources: docs.map((content, i) => ({ file: `f${i}.yaml`, content })) } });
        expect([200, 400, 413], r.text.slice(0, 300)).toContain(r.status);
        if (r.status === 400) expect(r.body.error.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 80 },
    );
    await assertSurvivesHostileInput(
      { url: `${t.url}/v1/definitions/plan`, headers: { authorization: `Bearer ${acmeAdmin}` } },
      { runs: 40, seed: { sources: [{ file: 'a.yaml', content: 'apiVersion: keel/v1\nkind: Service\nmetadata:\n  name: a\n' }] } },
    );
  });

  it('sign-in, users, keys and SSO endpoints survive hostile bodies', async () => {
    const admin = { authorization: `Bearer ${t.adminKey}` };
    await assertSurvivesHostileInput({ url: `${t.url}/v1/auth/sign-in` }, { runs: 30, seed: { email: 'a@b.co', password: 'some password here' } });
    await assertSurvivesHostileInput({ url: `${t.url}/v1/users`, headers: admin }, { runs: 30, seed: { email: 'x@y.co', name: 'X', role: 'viewer', password: 'long enough password' } });
    await assertSurvivesHostileInput({ url: `${t.url}/v1/keys`, headers: admin }, { runs: 30, seed: { tenant: 'acme', scopes: ['read'] } });
    await assertSurvivesHostileInput(
      { url: `${t.url}/v1/sso/providers/corp`, method: 'PUT', headers: admin },
      { runs: 30, seed: { issuer: 'https://idp.example.com', client_id: 'k', client_secret: 's', default_team: 'acme', default_role: 'viewer' } },
    );
  });
});
