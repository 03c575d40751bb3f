import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from '../../src/core/time.js';
import { findJsonSyntaxError } from '../../src/ingest/json-error-offset.js';

describe('parseRfc3339', () => {
  it('agrees with Date.parse on every valid date-time', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9998-12-31T23:59:59Z'), noInvalidDate: true }), fc.integer({ min: -14 * 60, max: 14 * 60 }), (d, offsetMin) => {
        const iso = d.toISOString();
        expect(parseRfc3339(iso)).toBe(d.getTime());
        const sign = offsetMin < 0 ? '-' : '+';
        const a = Math.abs(offsetMin);
        const local = new Date(d.getTime() + offsetMin * 60_000).toISOString().slice(0, 23);
        const withOffset = `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
        expect(parseRfc3339(withOffset)).toBe(d.getTime());
      }),
      { numRuns: 500 },
    );
  });

  it('refuses what is not RFC 3339', () => {
    for (const s of [
      '2026-02-29T00:00:00Z',
      '2026-11-25T24:00:00Z',
      '2026-11-25T10:00:00',
      '2026-11-25',
      'Tue Nov 25 2026',
      '2026-11-25T10:00:00.Z',
      '2026-11-25T10:00:00+0100',
      '2026-1-25T10:00:00Z',
      '',
    ]) {
      expect(parseRfc3339(s), s).toBeNaN();
    }
  });
});

describe('findJsonSyntaxError', () => {
  it('finds nothing in valid JSON and the failing byte otherwise', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(findJsonSyntaxError(Buffer.from(JSON.stringify(v)))).toBeUndefined();
      }),
    );
    expect(findJsonSyntaxError(Buffer.from('{"a":1,}'))?.offset).toBe(7);
    expect(findJsonSyntaxError(Buffer.from('[1,2'))?.offset).toBe(4);
    expect(findJsonSyntaxError(Buffer.from('{"a" 1}'))?.offset).toBe(5);
  });

  it('agrees with JSON.parse on whether random text is valid', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        let valid = true;
        try {
          JSON.parse(s);
        } catch {
          valid = false;
        }
        expect(findJsonSyntaxError(Buffer.from(s)) === undefined).toBe(valid);
      }),
      { numRuns: 2000 },
    );
  });
});
