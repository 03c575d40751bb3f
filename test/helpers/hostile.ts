/**
 * Random and hostile input for any endpoint that takes a body: a fast-check harness that sends it
 * and checks what a user would see — a 4xx with the error shape, or a success; never a 5xx, never
 * a hang, never a crash (the server still answers afterwards). Point it at any JSON endpoint:
 *
 *   await assertSurvivesHostileInput({ url: `${keel}/v1/integrations/alertmanager`, headers }, { seed: validBody });
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { request } from 'undici';

export interface HostileTarget {
  url: string;
  method?: 'POST' | 'PUT' | 'PATCH';
  headers?: Record<string, string>;
  /** The content type the endpoint expects (default application/json). */
  contentType?: string;
}

export interface HostileBody {
  body: Buffer;
  contentType: string;
  encoding?: string;
  what: string;
}

const text = (s: string, what: string, contentType = 'application/json'): HostileBody => ({ body: Buffer.from(s), contentType, what });

/** Objects whose keys try to reach prototypes. */
const pollution = fc.constantFrom(
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":{"__proto__":{"polluted":true}},"__proto__":[]}',
  '[{"__proto__":{"polluted":true}}]',
);

/** Valid-looking bodies with one field changed to something of the wrong kind. */
function mutations(seed: unknown): fc.Arbitrary<string> {
  const wrong = fc.oneof(
    fc.constant(null),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.string({ maxLength: 50 }),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
    fc.constant('x'.repeat(100_000)),
  );
  if (typeof seed !== 'object' || seed === null || Array.isArray(seed)) return fc.json();
  const keys = Object.keys(seed);
  return fc.tuple(fc.constantFrom(...(keys.length ? keys : ['x']), 'unknownField'), wrong, fc.boolean()).map(([k, v, drop]) => {
    const copy: Record<string, unknown> = { ...(seed as Record<string, unknown>) };
    if (drop && k in copy) delete copy[k];
    else copy[k] = v;
    return JSON.stringify(copy);
  });
}

/**
 * Valid-looking bodies with one field's value replaced by raw text JSON.stringify cannot make: a
 * value nested thousands of levels deep, a number out of range, or a string with a byte that is not
 * UTF-8 (sent as bytes).
 */
function rawFieldMutations(seed: unknown, contentType: string): fc.Arbitrary<HostileBody> {
  const keys = typeof seed === 'object' && seed !== null && !Array.isArray(seed) ? Object.keys(seed) : [];
  if (keys.length === 0) return fc.constant(text('{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}', 'deep value', contentType));
  const raw = fc.oneof(
    fc.integer({ min: 100, max: 20_000 }).map((n) => ({ bytes: Buffer.from('{"a":'.repeat(n) + '1' + '}'.repeat(n)), what: `a value nested ${n} levels` })),
    fc.constantFrom('1e400', '-1e999').map((n) => ({ bytes: Buffer.from(n), what: `the number ${n}` })),
    fc
      .constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf])
      .map((b) => ({ bytes: Buffer.concat([Buffer.from('"x'), Buffer.from(b), Buffer.from('"')]), what: `a string with bytes ${b.map((x) => x.toString(16)).join(' ')}` })),
  );
  return fc.tuple(fc.constantFrom(...keys), raw).map(([k, v]) => {
    const [before, after] = JSON.stringify({ ...(seed as Record<string, unknown>), [k]: '\u0000MARK' }).split('"\\u0000MARK"');
    return { body: Buffer.concat([Buffer.from(before!), v.bytes, Buffer.from(after!)]), contentType, what: `field ${k} set to ${v.what}` };
  });
}

export function hostileBodies(seed?: unknown, contentType = 'application/json'): fc.Arbitrary<HostileBody> {
  return fc.oneof(
    rawFieldMutations(seed, contentType),
    fc.json({ maxDepth: 6 }).map((s) => text(s, 'random JSON', contentType)),
    mutations(seed).map((s) => text(s, 'mutated valid body', contentType)),
    fc.string({ maxLength: 300 }).map((s) => text(s, 'random text', contentType)),
    fc.json().map((s) => text(s.slice(0, Math.max(1, Math.floor(s.length / 2))), 'truncated JSON', contentType)),
    fc.integer({ min: 1_000, max: 50_000 }).map((n) => text('['.repeat(n) + ']'.repeat(n), 'deeply nested arrays', contentType)),
    fc.integer({ min: 1_000, max: 50_000 }).map((n) => text('{"a":'.repeat(n) + '1' + '}'.repeat(n), 'deeply nested objects', contentType)),
    pollution.map((s) => text(s, 'prototype pollution', contentType)),
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => ({ body: Buffer.from(b), contentType, what: 'random bytes' })),
    fc.constantFrom('{"a":1e999999}', '{"a":-0}', '{"a":"\\ud800"}', '\ufeff{}', '{"a":1}{"b":2}', '', ' ', 'null', '[]').map((s) => text(s, 'edge JSON', contentType)),
    fc
      .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/xml')
      .map((ct) => text('a=1&b=2', `content type ${ct}`, ct)),
    fc.json().map((s) => ({ body: Buffer.from(s), contentType, encoding: 'gzip', what: 'claims gzip, is not' })),
    fc.json().map((s) => ({ body: gzipSync(Buffer.from(s)), contentType, encoding: 'gzip', what: 'gzip' })),
  );
}

export interface HostileOptions {
  /** A valid body to mutate. */
  seed?: unknown;
  runs?: number;
  /** Longest an answer may take before it counts as a hang. */
  timeoutMs?: number;
  /** A URL to check the server still answers (default: <origin>/healthz). */
  healthUrl?: string;
  /** Extra check per answer (e.g. the body shape a protocol demands). */
  check?: (status: number, text: string, input: HostileBody) => void;
  /**
   * Checks a 4xx body instead of Keel's `{error: {code, message}}` (a protocol with its own error
   * shape, like PagerDuty's Events API); throws when the body is wrong.
   */
  errorShape?: (status: number, text: string) => void;
}

export async function sendHostile(target: HostileTarget, input: HostileBody, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await request(target.url, {
    method: target.method ?? 'POST',
    headers: { ...target.headers, 'content-type': input.contentType, ...(input.encoding ? { 'content-encoding': input.encoding } : {}) },
    body: input.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

export async function assertSurvivesHostileInput(target: HostileTarget, options: HostileOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  await fc.assert(
    fc.asyncProperty(hostileBodies(options.seed, target.contentType ?? 'application/json'), async (input) => {
      const { status, text } = await sendHostile(target, input, timeoutMs);
      if (status >= 500) throw new Error(`${input.what} → ${status}: ${text.slice(0, 300)}`);
      if (status >= 400 && options.errorShape) options.errorShape(status, text);
      else if (status >= 400) {
        const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
        if (typeof parsed.error?.code !== 'string' || typeof parsed.error?.message !== 'string') throw new Error(`${input.what} → ${status} without the error shape: ${text.slice(0, 200)}`);
      }
      options.check?.(status, text, input);
    }),
    { numRuns: options.runs ?? 60 },
  );
  const health = await request(options.healthUrl ?? `${new URL(target.url).origin}/healthz`);
  await health.body.text();
  if (health.statusCode !== 200) throw new Error(`the server does not answer /healthz after hostile input: ${health.statusCode}`);
  if ((Object.prototype as Record<string, unknown>).polluted !== undefined) throw new Error('Object.prototype was polluted');
}
