/** The frames compacted segments store: exact round trips, and the size the bench's events take. */
import { describe, expect, it } from 'vitest';
import { benchBodies, prng } from '../../src/bench/events.js';
import { FrameCodec, decodeBatch, encodeBatch } from '../../src/log/sqlite/batch-codec.js';

const roundTrip = (text: string) => {
  const frame = encodeBatch(Buffer.from(text));
  return { codec: frame[0], back: decodeBatch(frame).toString('utf8') };
};

describe('batch frames', () => {
  it('stores the bench events in columns at under 40 bytes per event and decodes them byte for byte', () => {
    const bodies = benchBodies(8, 1000, Date.parse('2026-12-05T00:00:00Z'), 42);
    let stored = 0;
    for (const body of bodies) {
      const frame = encodeBatch(body);
      expect(frame[0]).toBe(FrameCodec.Columnar);
      expect(decodeBatch(frame).equals(body)).toBe(true);
      stored += frame.byteLength;
    }
    expect(stored / 8000).toBeLessThan(40);
  });

  it('keeps events of different shapes, nested values, unicode and ids that are not all hex', () => {
    const text = [
      JSON.stringify({ a: 1, id: 'abcdef01', nested: { x: [1, 'two', null] }, s: 'é\u2028\\n"' }),
      JSON.stringify({ id: 'ABCDEF01', a: -0.5 }),
      JSON.stringify({ b: true }),
      JSON.stringify({ a: 2, id: 'abcdef0' }),
    ].join('\n');
    expect(roundTrip(`${text}\n`)).toEqual({ codec: FrameCodec.Columnar, back: `${text}\n` });
  });

  it('keeps key order, duplicate keys, number spellings, escapes and spaces inside values as they came', () => {
    const text = '{"2":"x","1":1}\n{"a":1,"a":2}\n{"n":1.0,"e":1E3}\n{"q":"a\\"b\\\\","o":{"x":"}"},"l":[1,"]",{}]}\n{"a": 1}\n{}\n';
    expect(roundTrip(text)).toEqual({ codec: FrameCodec.Columnar, back: text });
  });

  it('falls back to brotli of the text for lines that are not a flat run of "key":value pairs', () => {
    for (const text of ['{ "a": 1 }\n', '{"a":1}', '{"a":1}\n\n{"b":2}\n', '[1,2]\n', '1.0\n', '{"a":1,}\n', '{"a":"unclosed}\n', '{"a":1 "b":2}\n', '']) {
      expect(roundTrip(text)).toEqual({ codec: FrameCodec.Brotli, back: text });
    }
  });

  it('decodes random flat and nested objects byte for byte', () => {
    const rnd = prng(5);
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const value = (depth: number): unknown =>
      depth > 1 || rnd() < 0.6
        ? pick<() => unknown>([() => Math.floor(rnd() * 1e6) / 100, () => pick(['', 'a"b', '\\', '}{][,:', 'é\u0000\t', 'ff00aa']), () => rnd() < 0.5, () => null])()
        : rnd() < 0.5
          ? Array.from({ length: Math.floor(rnd() * 3) }, () => value(depth + 1))
          : Object.fromEntries(Array.from({ length: Math.floor(rnd() * 3) }, (_, i) => [`k${i}`, value(depth + 1)]));
    for (let round = 0; round < 50; round++) {
      const lines = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () =>
        JSON.stringify(Object.fromEntries(Array.from({ length: Math.floor(rnd() * 6) }, () => [pick(['a', 'b', 'id', '"q"', '1', '']), value(0)]))),
      );
      const text = `${lines.join('\n')}\n`;
      expect(roundTrip(text)).toEqual({ codec: FrameCodec.Columnar, back: text });
    }
  });

  it('refuses a frame of an unknown codec', () => {
    expect(() => decodeBatch(Buffer.of(9, 1, 2))).toThrow('unknown batch frame codec 9');
  });
});
