import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8, inspectJson, parseLimitedJson } from '../../src/core/json-limits.js';

describe('firstInvalidUtf8', () => {
  it('names the first byte of the first ill-formed sequence', () => {
    expect(firstInvalidUtf8(Buffer.from('héllo €𝄞'))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xff]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xc3]))).toBe(2); // truncated
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0); // overlong "/"
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xed, 0xa0, 0x80]))).toBe(1); // a surrogate
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // above U+10FFFF
    expect(firstInvalidUtf8(Buffer.from([0xe2, 0x82, 0xac, 0xe2, 0x28, 0xa1]))).toBe(3);
  });

  it('agrees with Node on any bytes, and everything before the offset is valid', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const at = firstInvalidUtf8(bytes);
        expect(at < 0).toBe(isUtf8(bytes));
        if (at >= 0) expect(isUtf8(bytes.subarray(0, at))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('inspectJson', () => {
  it('finds depth over the limit and non-finite numbers with their path', () => {
    expect(inspectJson({ a: { b: [1, { c: 2 }] } }, 4)).toBeUndefined();
    expect(inspectJson({ a: { b: [1, { c: 2 }] } }, 3)).toEqual({ path: 'a.b[1]', message: 'JSON nests deeper than 3 levels (the limit is 3)' });
    expect(inspectJson({ a: [0, Infinity] }, 8)?.path).toBe('a[1]');
    const deep = parseLimitedJson(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)), 32);
    expect(deep).toEqual({ ok: false, problem: { path: `${'[0]'.repeat(10)}.…(22 more levels)`, message: 'JSON nests deeper than 32 levels (the limit is 32)' } });
  });
});
