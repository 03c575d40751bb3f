/**
 * Turns a request body into the batch Keel stores: the accepted events as NDJSON (one event per
 * line), plus a precise error for every rejected event. This is the ingest hot path, so it avoids
 * re-serialising: when every line of an NDJSON body is accepted the body itself is stored, and
 * otherwise only the accepted lines are copied out. Pure and synchronous, so it can run on the main
 * thread or in a parse worker.
 */
import { isUtf8 } from 'node:buffer';
import { KeelError } from '../core/errors.js';
import { firstInvalidUtf8, nonFiniteMessage, utf8Problem } from '../core/json-limits.js';
import { parseRfc3339 } from '../core/time.js';
import { findJsonSyntaxError } from './json-error-offset.js';
import type { IngestLimits } from './limits.js';

export type RejectReason =
  'invalid_json' | 'invalid_utf8' | 'not_object' | 'event_too_large' | 'invalid_ts' | 'future_ts' | 'invalid_id' | 'duplicate_id' | 'invalid_attribute' | 'invalid_number' | 'too_deep';

export interface EventError {
  /** 0-based position of the event in the request (blank NDJSON lines are not events). */
  index: number;
  /** 1-based line of the body, for NDJSON. */
  line?: number;
  /** Dotted path of the offending field, or "" for the event as a whole. */
  field: string;
  reason: string;
  code: RejectReason;
}

export interface ParsedBatch {
  /** Accepted events, NDJSON; every event ends with "\n". Empty when none was accepted. */
  data: Buffer;
  accepted: number;
  errors: EventError[];
  /** Smallest and largest event time (ms) among accepted events; 0 when none. */
  minTs: number;
  maxTs: number;
}

const NEWLINE = 10;

class EventRejection {
  constructor(
    readonly code: RejectReason,
    readonly field: string,
    readonly reason: string,
  ) {}
}

/**
 * Checks one parsed event. Returns its time in ms (receivedAt when it has none) or an
 * EventRejection. Attribute values may be strings, numbers, booleans, null, or objects of those
 * (flattened with dots for filters); arrays are refused because filters cannot address them.
 */
function checkEvent(ev: unknown, limits: IngestLimits, receivedAt: number, ids: Set<string> | undefined): number | EventRejection {
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) {
    return new EventRejection('not_object', '', `event must be a JSON object, got ${describe(ev)}`);
  }
  const obj = ev as Record<string, unknown>;
  let ts = receivedAt;
  for (const key in obj) {
    const v = obj[key];
    if (key === 'ts') {
      if (typeof v === 'string') {
        ts = parseRfc3339(v);
        if (Number.isNaN(ts)) return new EventRejection('invalid_ts', 'ts', `"${clip(v)}" is not an RFC 3339 date-time`);
      } else if (typeof v === 'number') {
        if (!Number.isInteger(v) || v < 0 || v > 253402300799999) {
          return new EventRejection('invalid_ts', 'ts', 'epoch milliseconds must be a non-negative integer');
        }
        ts = v;
      } else {
        return new EventRejection('invalid_ts', 'ts', `must be an RFC 3339 string or epoch milliseconds, got ${describe(v)}`);
      }
      if (ts > receivedAt + limits.maxFutureSkewMs) {
        return new EventRejection('future_ts', 'ts', `is ${Math.round((ts - receivedAt) / 1000)} s in the future; the limit is ${limits.maxFutureSkewMs / 1000} s`);
      }
      continue;
    }
    if (key === 'id') {
      let id: string;
      if (typeof v === 'string' && v.length > 0 && v.length <= limits.maxIdLength) id = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) id = String(v);
      else return new EventRejection('invalid_id', 'id', `must be a string of 1 to ${limits.maxIdLength} characters or an integer`);
      if (ids) {
        if (ids.has(id)) return new EventRejection('duplicate_id', 'id', `"${clip(id)}" appears earlier in the same request`);
        ids.add(id);
      }
      continue;
    }
    if (typeof v === 'object' && v !== null) {
      const bad = checkNested(v, key, 1, limits.maxDepth);
      if (bad) return bad;
    } else if (typeof v === 'number' && !Number.isFinite(v)) return nonFinite(key);
  }
  return ts;
}

function checkNested(v: object, path: string, depth: number, maxDepth: number): EventRejection | undefined {
  if (Array.isArray(v)) {
    return new EventRejection('invalid_attribute', path, 'arrays are not supported; use an object or a string');
  }
  if (depth > maxDepth) return new EventRejection('too_deep', path, `objects nest deeper than ${maxDepth} levels`);
  const obj = v as Record<string, unknown>;
  for (const key in obj) {
    const x = obj[key];
    if (typeof x === 'object' && x !== null) {
      const bad = checkNested(x, `${path}.${key}`, depth + 1, maxDepth);
      if (bad) return bad;
    } else if (typeof x === 'number' && !Number.isFinite(x)) return nonFinite(`${path}.${key}`);
  }
  return undefined;
}

/** JSON.parse reads `1e400` as Infinity, which would be stored as null: refuse it instead. */
function nonFinite(path: string): EventRejection {
  return new EventRejection('invalid_number', path, nonFiniteMessage);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/**
 * NDJSON body: every line is judged on its own; blank lines are ignored. Lines are decoded one by
 * one from the bytes: decoding a whole multi-megabyte body into one string first costs as much as
 * parsing it (large-object allocation and GC), while small per-line strings die young.
 */
export function parseNdjson(body: Buffer, limits: IngestLimits, receivedAt: number): ParsedBatch {
  const start = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  const allUtf8 = isUtf8(body);
  const errors: EventError[] = [];
  // Byte ranges of accepted lines; contiguous runs are merged so a clean body is stored as sent.
  const keptStart: number[] = [];
  const keptEnd: number[] = [];
  let accepted = 0;
  let ids: Set<string> | undefined;
  let index = 0;
  let lineNo = 0;
  let minTs = Infinity;
  let maxTs = -Infinity;
  const n = body.length;
  let pos = start;
  while (pos < n) {
    let nl = body.indexOf(NEWLINE, pos);
    if (nl < 0) nl = n;
    const lineStart = pos;
    let lineEnd = nl;
    pos = nl + 1;
    lineNo++;
    if (lineEnd > lineStart && body[lineEnd - 1] === 13) lineEnd--; // CRLF
    if (isBlankRange(body, lineStart, lineEnd)) continue;
    if (index >= limits.maxEventsPerRequest) {
      throw new KeelError('payload_too_large', `request has more than ${limits.maxEventsPerRequest} events; send at most ${limits.maxEventsPerRequest} per request`);
    }
    const i = index++;
    if (lineEnd - lineStart > limits.maxEventBytes) {
      errors.push({ index: i, line: lineNo, field: '', code: 'event_too_large', reason: `event is larger than ${limits.maxEventBytes} bytes` });
      continue;
    }
    const badByte = allUtf8 ? -1 : firstInvalidUtf8(body, lineStart, lineEnd);
    if (badByte >= 0) {
      errors.push({ index: i, line: lineNo, field: '', code: 'invalid_utf8', reason: `not valid UTF-8 at byte ${badByte} of the body (line ${lineNo}, byte ${badByte - lineStart} of the line)` });
      continue;
    }
    let ev: unknown;
    try {
      ev = JSON.parse(body.toString('utf8', lineStart, lineEnd));
    } catch (e) {
      errors.push({ index: i, line: lineNo, field: '', code: 'invalid_json', reason: `invalid JSON: ${(e as Error).message}` });
      continue;
    }
    if (ids === undefined && typeof ev === 'object' && ev !== null && 'id' in ev) ids = new Set();
    const r = checkEvent(ev, limits, receivedAt, ids);
    if (typeof r !== 'number') {
      errors.push({ index: i, line: lineNo, field: r.field, code: r.code, reason: r.reason });
      continue;
    }
    if (r < minTs) minTs = r;
    if (r > maxTs) maxTs = r;
    accepted++;
    const k = keptEnd.length - 1;
    // Extend the current run when this line follows it directly (same line ending kept).
    if (k >= 0 && keptEnd[k] === lineStart && lineEnd === nl) keptEnd[k] = Math.min(nl + 1, n);
    else {
      keptStart.push(lineStart);
      keptEnd.push(lineEnd === nl ? Math.min(nl + 1, n) : lineEnd);
    }
  }
  if (index === 0) throw new KeelError('empty_body', 'request body has no events');
  return finish(assemble(body, keptStart, keptEnd), accepted, errors, minTs, maxTs);
}

/** The accepted byte ranges as NDJSON ending in a newline; the body itself when it is one run. */
function assemble(body: Buffer, starts: number[], ends: number[]): Buffer {
  if (starts.length === 0) return Buffer.alloc(0);
  if (starts.length === 1 && starts[0] === 0 && ends[0] === body.length && body[body.length - 1] === NEWLINE) return body;
  let size = 0;
  for (let k = 0; k < starts.length; k++) {
    size += ends[k]! - starts[k]!;
    if (body[ends[k]! - 1] !== NEWLINE) size++;
  }
  // A fresh ArrayBuffer (not the shared pool) so the result can be transferred between threads.
  const out = Buffer.from(new ArrayBuffer(size));
  let o = 0;
  for (let k = 0; k < starts.length; k++) {
    o += body.copy(out, o, starts[k]!, ends[k]!);
    if (body[ends[k]! - 1] !== NEWLINE) out[o++] = NEWLINE;
  }
  return out;
}

/** JSON body: an array of events, or one event object. A body that does not parse is refused whole. */
export function parseJsonBody(body: Buffer, limits: IngestLimits, receivedAt: number): ParsedBatch {
  if (isBlankBytes(body)) throw new KeelError('empty_body', 'request body is empty');
  // The same rule as NDJSON: bytes that are not UTF-8 are refused, never decoded into U+FFFD. A
  // JSON document cannot be split into events before it parses, so the whole body is refused.
  const bad = utf8Problem(body);
  if (bad) throw new KeelError('malformed_body', bad.message, { details: [{ path: '', message: bad.message, offset: bad.offset! }] });
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    const where = findJsonSyntaxError(body);
    const offset = where?.offset ?? body.length;
    throw new KeelError('malformed_body', `body is not valid JSON at byte ${offset}: ${where?.message ?? (e as Error).message}`, {
      details: [{ path: '', message: where?.message ?? (e as Error).message, offset }],
    });
  }
  const events = Array.isArray(doc) ? doc : typeof doc === 'object' && doc !== null ? [doc] : undefined;
  if (!events) {
    throw new KeelError('malformed_body', `body must be a JSON array of events or one event object, got ${describe(doc)}`);
  }
  if (events.length === 0) throw new KeelError('empty_body', 'request body has no events');
  if (events.length > limits.maxEventsPerRequest) {
    throw new KeelError('payload_too_large', `request has ${events.length} events; send at most ${limits.maxEventsPerRequest} per request`);
  }
  const errors: EventError[] = [];
  const kept: string[] = [];
  let ids: Set<string> | undefined;
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (let i = 0; i < events.length; i++) {
    const ev: unknown = events[i];
    if (ids === undefined && typeof ev === 'object' && ev !== null && 'id' in ev) ids = new Set();
    const r = checkEvent(ev, limits, receivedAt, ids);
    if (typeof r !== 'number') {
      errors.push({ index: i, field: r.field, code: r.code, reason: r.reason });
      continue;
    }
    const line = JSON.stringify(ev);
    if (Buffer.byteLength(line) > limits.maxEventBytes) {
      errors.push({ index: i, field: '', code: 'event_too_large', reason: `event is larger than ${limits.maxEventBytes} bytes` });
      continue;
    }
    if (r < minTs) minTs = r;
    if (r > maxTs) maxTs = r;
    kept.push(line);
  }
  const data = kept.length ? Buffer.from(kept.join('\n') + '\n', 'utf8') : Buffer.alloc(0);
  return finish(data, kept.length, errors, minTs, maxTs);
}

function finish(data: Buffer, accepted: number, errors: EventError[], minTs: number, maxTs: number): ParsedBatch {
  return {
    data,
    accepted,
    errors,
    minTs: accepted ? minTs : 0,
    maxTs: accepted ? maxTs : 0,
  };
}

function isBlankRange(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

function isBlankBytes(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return false;
  }
  return true;
}
