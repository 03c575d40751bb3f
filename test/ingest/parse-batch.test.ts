import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeelError } from '../../src/core/errors.js';
import { DEFAULT_LIMITS } from '../../src/ingest/limits.js';
import { parseJsonBody, parseNdjson } from '../../src/ingest/parse-batch.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const lines = (b: Buffer) => b.toString('utf8').split('\n').filter(Boolean);

describe('parseNdjson', () => {
  it('stores a clean body as sent, without copying it', () => {
    const body = Buffer.from('{"a":1}\n{"b":2}\n');
    const r = parseNdjson(body, DEFAULT_LIMITS, NOW);
    expect(r.accepted).toBe(2);
    expect(r.data).toBe(body);
  });

  it('adds the final newline, strips CRLF and a BOM, and skips blank lines', () => {
    expect(parseNdjson(Buffer.from('{"a":1}'), DEFAULT_LIMITS, NOW).data.toString()).toBe('{"a":1}\n');
    const crlf = parseNdjson(Buffer.from('{"a":1}\r\n\r\n{"b":2}\r\n'), DEFAULT_LIMITS, NOW);
    expect(crlf.data.toString()).toBe('{"a":1}\n{"b":2}\n');
    const bom = parseNdjson(Buffer.from('\ufeff{"a":1}\n'), DEFAULT_LIMITS, NOW);
    expect(bom.accepted).toBe(1);
    expect(bom.data.toString()).toBe('{"a":1}\n');
  });

  it('keeps exactly the valid lines of a mixed body, in order', () => {
    const body = Buffer.from(['{"n":0}', 'oops', '{"n":2}', '{"n":3', '{"n":4}', '7', '{"n":6}'].join('\n'));
    const r = parseNdjson(body, DEFAULT_LIMITS, NOW);
    expect(lines(r.data).map((l) => JSON.parse(l).n)).toEqual([0, 2, 4, 6]);
    expect(r.errors.map((e) => [e.index, e.line, e.code])).toEqual([
      [1, 2, 'invalid_json'],
      [3, 4, 'invalid_json'],
      [5, 6, 'not_object'],
    ]);
  });

  it('checks ts, id and attribute types with the field path', () => {
    const cases: [unknown, string, string][] = [
      [{ ts: '2026-13-01T00:00:00Z' }, 'ts', 'invalid_ts'],
      [{ ts: '2026-11-25' }, 'ts', 'invalid_ts'],
      [{ ts: 1.5 }, 'ts', 'invalid_ts'],
      [{ ts: -1 }, 'ts', 'invalid_ts'],
      [{ ts: true }, 'ts', 'invalid_ts'],
      [{ ts: NOW + 10 * 60_000 }, 'ts', 'future_ts'],
      [{ id: '' }, 'id', 'invalid_id'],
      [{ id: { x: 1 } }, 'id', 'invalid_id'],
      [{ a: { b: { c: [1] } } }, 'a.b.c', 'invalid_attribute'],
      [{ list: [] }, 'list', 'invalid_attribute'],
    ];
    for (const [ev, field, code] of cases) {
      const r = parseNdjson(Buffer.from(JSON.stringify(ev)), DEFAULT_LIMITS, NOW);
      expect(r.errors, JSON.stringify(ev)).toEqual([expect.objectContaining({ index: 0, field, code })]);
    }
    const deep = { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: 1 } } } } } } } } } };
    expect(parseNdjson(Buffer.from(JSON.stringify(deep)), DEFAULT_LIMITS, NOW).errors[0]?.code).toBe('too_deep');
  });

  it('accepts the time forms RFC 3339 allows, and ts within the skew', () => {
    const ok = ['2026-11-25T10:00:00Z', '2026-11-25t10:00:00z', '2026-11-25 10:00:00.123456+05:30', '2024-02-29T23:59:59-00:00'];
    for (const ts of ok) expect(parseNdjson(Buffer.from(JSON.stringify({ ts })), DEFAULT_LIMITS, NOW).accepted, ts).toBe(1);
    expect(parseNdjson(Buffer.from(JSON.stringify({ ts: NOW + 60_000 })), DEFAULT_LIMITS, NOW).accepted).toBe(1);
    const r = parseNdjson(Buffer.from('{"ts":"2026-11-25T11:00:00Z"}\n{"x":1}\n'), DEFAULT_LIMITS, NOW);
    expect(r.minTs).toBe(Date.parse('2026-11-25T11:00:00Z'));
    expect(r.maxTs).toBe(NOW);
  });

  it('rejects a repeated id within one request', () => {
    const r = parseNdjson(Buffer.from('{"id":"a"}\n{"id":"b"}\n{"id":"a"}\n{"id":7}\n{"id":"7"}\n'), DEFAULT_LIMITS, NOW);
    expect(r.accepted).toBe(3);
    expect(r.errors.map((e) => [e.index, e.code])).toEqual([
      [2, 'duplicate_id'],
      [4, 'duplicate_id'],
    ]);
  });

  it('rejects lines that are not UTF-8 and keeps the rest', () => {
    const body = Buffer.concat([Buffer.from('{"a":1}\n{"b":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n{"c":3}\n')]);
    const r = parseNdjson(body, DEFAULT_LIMITS, NOW);
    expect(r.accepted).toBe(2);
    expect(r.errors).toEqual([expect.objectContaining({ index: 1, code: 'invalid_utf8' })]);
    expect(lines(r.data)).toEqual(['{"a":1}', '{"c":3}']);
  });

  it('measures the event size limit in bytes', () => {
    const limits = { ...DEFAULT_LIMITS, maxEventBytes: 20 };
    const ascii = JSON.stringify({ s: 'x'.repeat(11) }); // 20 bytes
    const multi = JSON.stringify({ s: 'é'.repeat(6) }); // 14 characters, 20 bytes
    const over = JSON.stringify({ s: 'é'.repeat(7) }); // 22 bytes
    const r = parseNdjson(Buffer.from([ascii, multi, over].join('\n')), limits, NOW);
    expect(r.accepted).toBe(2);
    expect(r.errors).toEqual([expect.objectContaining({ index: 2, code: 'event_too_large' })]);
  });

  it('refuses an empty body and too many events as a whole', () => {
    expect(() => parseNdjson(Buffer.from(' \n\n'), DEFAULT_LIMITS, NOW)).toThrow(/no events/);
    const many = Buffer.from('{}\n'.repeat(11));
    try {
      parseNdjson(many, { ...DEFAULT_LIMITS, maxEventsPerRequest: 10 }, NOW);
      expect.unreachable();
    } catch (e) {
      expect((e as KeelError).status).toBe(413);
    }
  });

  it('keeps every valid event of any mix of valid and invalid lines (property)', () => {
    const valid = fc.dictionary(
      fc.string({ maxLength: 8 }).filter((k) => k !== 'ts' && k !== 'id' && k !== '__proto__'),
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
      { maxKeys: 5 },
    );
    const invalid = fc.oneof(
      fc.constant('{'),
      fc.constant('[1]'),
      fc.constant('"s"'),
      fc.string().filter((s) => !s.includes('\n') && s.trim() !== '' && !isObjectJson(s)),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            valid.map((v) => ({ ok: true as const, v })),
            invalid.map((s) => ({ ok: false as const, s })),
          ),
          { minLength: 1, maxLength: 30 },
        ),
        (items) => {
          const text = items.map((i) => (i.ok ? JSON.stringify(i.v) : i.s)).join('\n');
          let r;
          try {
            r = parseNdjson(Buffer.from(text), DEFAULT_LIMITS, NOW);
          } catch (e) {
            // Only a body without a single non-blank line may be refused as a whole.
            expect((e as KeelError).code).toBe('empty_body');
            return;
          }
          const expected = items.filter((i) => i.ok).map((i) => (i as { v: unknown }).v);
          expect(lines(r.data).map((l) => JSON.parse(l))).toEqual(expected);
          expect(r.accepted + r.errors.length).toBe(items.filter((i) => i.ok || i.s.trim() !== '').length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

function isObjectJson(s: string): boolean {
  try {
    const v = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

describe('parseJsonBody', () => {
  it('reports the byte offset of a syntax error, counting multi-byte characters as bytes', () => {
    try {
      parseJsonBody(Buffer.from('[{"a":"ééé"},{"b":}]'), DEFAULT_LIMITS, NOW);
      expect.unreachable();
    } catch (e) {
      expect((e as KeelError).code).toBe('malformed_body');
      // Byte 21 (the UTF-16 index would be 18): each é is two bytes.
      expect((e as KeelError).message).toContain('at byte 21');
    }
  });

  it('accepts a single object, refuses scalars', () => {
    expect(parseJsonBody(Buffer.from('{"a":1}'), DEFAULT_LIMITS, NOW).accepted).toBe(1);
    expect(() => parseJsonBody(Buffer.from('42'), DEFAULT_LIMITS, NOW)).toThrow(/JSON array of events or one event object/);
  });
});
