/** The frames compacted segments store: exact round trips, and the size the bench's events take. */
import { describe, expect, it } from 'vitest';
import { benchBodies } from '../../src/bench/events.js';
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

  it('falls back to brotli of the text for lines that would not re-serialize the same', () => {
    for (const text of ['{ "a": 1 }\n', '{"2":"x","1":1}\n', '{"a":1,"a":2}\n', '{"a":1}', '{"a":1}\n\n{"b":2}\n', '[1,2]\n', '1.0\n', '{"n":1.0}\n', '']) {
      expect(roundTrip(text)).toEqual({ codec: FrameCodec.Brotli, back: text });
    }
  });

  it('refuses a frame of an unknown codec', () => {
    expect(() => decodeBatch(Buffer.of(9, 1, 2))).toThrow('unknown batch frame codec 9');
  });
});
