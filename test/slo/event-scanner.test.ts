import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CelRecord, CelValue } from '../../src/cel/values.js';
import { parseRfc3339 } from '../../src/core/time.js';
import { EventScanner, fillFromObject } from '../../src/slo/event-scanner.js';

/** JSON text with random whitespace between tokens (one line, as stored NDJSON). */
function spaced(v: unknown, rnd: () => number): string {
  const ws = () => [' ', '', '\t', '  '][Math.floor(rnd() * 4)]!;
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => spaced(x, rnd)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${ws()}${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${spaced(x, rnd)}`)
      .join(`${ws()},${ws()}`)}${ws()}}`;
  }
  return JSON.stringify(v);
}

function scanAll(data: string, paths: string[][], tsAsTime = false): CelValue[][] {
  const s = new EventScanner(paths, 'bytes', tsAsTime);
  s.reset(Buffer.from(data));
  const out: CelValue[][] = [];
  const rec: CelRecord = new Array(paths.length);
  while (s.next(rec)) out.push([...rec]);
  return out;
}

const KEYS = ['ts', 'service', 'status', 'a', 'b', 'é', 'key"q', 'x\\y', 'http'];

describe('event scanner', () => {
  it('extracts exactly what JSON.parse gives, for random events, keys, escapes and whitespace', () => {
    const scalar = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.string({ maxLength: 8 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, scalar, fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 4 })),
    })).v;
    const event = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 7 });
    const paths: string[][] = [['ts'], ['service'], ['status'], ['a'], ['a', 'b'], ['http', 'a', 'b'], ['é'], ['key"q'], ['x\\y'], ['missing']];
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 5 }), fc.integer(), (events, seed) => {
        let r = seed >>> 0;
        const rnd = () => (r = (r * 1103515245 + 12345) >>> 0) / 2 ** 32;
        const text = events.map((e) => spaced(e, rnd)).join('\n') + '\n';
        const got = scanAll(text, paths);
        expect(got.length).toBe(events.length);
        events.forEach((e, i) => {
          const want: CelRecord = new Array(paths.length);
          fillFromObject(JSON.parse(JSON.stringify(e)), paths, want);
          expect(got[i]).toEqual(want);
        });
      }),
      { numRuns: 400, seed: 7 },
    );
  });

  it('decodes every string right while the per-attribute table of known strings fills, is full, and turns off', () => {
    // 1,500 routes (more than the table keeps) seen three times, pairs differing in their first
    // byte only, of different lengths; then unique ids, which turn the table off.
    const routes = Array.from({ length: 1500 }, (_, i) => `${i % 2 === 0 ? 'x' : 'y'}/svc-${i >> 1}${'/r'.repeat(i % 3)}`);
    const events = [...routes, ...routes.slice().reverse(), ...routes, ...Array.from({ length: 3000 }, (_, i) => `id-${i}-${i * 7919}`)].map((route, i) => ({ route, n: i }));
    const data = events.map((e) => JSON.stringify(e)).join('\n');
    expect(scanAll(data, [['route'], ['n']])).toEqual(events.map((e) => [e.route, e.n]));
  });

  it('keeps the last of duplicate keys, as JSON.parse does', () => {
    const paths = [['ts'], ['a'], ['a', 'b']];
    const [r] = scanAll('{"a": {"b": 1}, "a": 5}\n', paths);
    expect(r).toEqual([undefined, 5, undefined]);
    const [r2] = scanAll('{"a": 5, "a": {"b": 2}}\n', paths);
    expect(r2![2]).toBe(2);
  });

  it('reads numbers bit-for-bit like JSON.parse', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constantFrom(287.8, 0.1, 1e21, -0, 123456789012345.6)), (n) => {
        const text = JSON.stringify({ n });
        const [r] = scanAll(`${text}\n`, [['ts'], ['n']]);
        expect(Object.is(r![1], JSON.parse(text).n)).toBe(true);
      }),
      { numRuns: 1000, seed: 3 },
    );
  });

  it('reads RFC 3339 timestamps straight from bytes to the same instant as parseRfc3339', () => {
    const ts = fc
      .tuple(
        fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.constantFrom('', '.5', '.25', '.123', '.123456'),
        fc.constantFrom('Z', 'z', '+01:00', '-05:30', '+14:00'),
        fc.constantFrom('T', 't', ' '),
      )
      .map(([d, frac, zone, sep]) => d.toISOString().slice(0, 19).replace('T', sep) + frac + zone);
    fc.assert(
      fc.property(ts, (t) => {
        const [r] = scanAll(`${JSON.stringify({ ts: t, x: 1 })}\n`, [['ts']], true);
        expect(r![0]).toBe(parseRfc3339(t));
      }),
      { numRuns: 1000, seed: 11 },
    );
    // Not a timestamp: kept as text (the fold then uses the batch's receive time).
    expect(scanAll('{"ts": "yesterday"}\n', [['ts']], true)[0]![0]).toBe('yesterday');
    expect(scanAll('{"ts": 1700000000000}\n', [['ts']], true)[0]![0]).toBe(1700000000000);
  });
});
