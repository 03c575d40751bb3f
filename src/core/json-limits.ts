/**
 * Limits on JSON that other systems send us (integrations, ingest): the text must be valid UTF-8
 * (never silently repaired into U+FFFD), nest no deeper than a limit (JSON.parse copes with any
 * depth, but the recursive JSON.stringify that stores it does not: 5,000 levels overflow the
 * stack), and hold only finite numbers (`1e400` parses as Infinity and would be stored as null).
 * Pure: no I/O.
 */
import { isUtf8 } from 'node:buffer';
import { formatPath } from './config.js';

export interface JsonProblem {
  /** Dotted path of the offending value; "" for the document as a whole. */
  path: string;
  message: string;
  /** Byte offset into the text, when the problem is in the bytes themselves. */
  offset?: number;
}

/**
 * Offset of the first byte in `buf[from, to)` that does not belong to a well-formed UTF-8 sequence
 * (overlongs, surrogates and code points above U+10FFFF included), or -1 when every byte does.
 */
export function firstInvalidUtf8(buf: Uint8Array, from = 0, to = buf.length): number {
  if (isUtf8(buf.subarray(from, to))) return -1;
  let i = from;
  while (i < to) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= to) return i; // truncated sequence
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** The UTF-8 problem of a body as a sentence naming the byte offset, or undefined. */
export function utf8Problem(buf: Uint8Array): JsonProblem | undefined {
  const offset = firstInvalidUtf8(buf);
  if (offset < 0) return undefined;
  return { path: '', offset, message: `body is not valid UTF-8 at byte ${offset} (0x${buf[offset]!.toString(16).padStart(2, '0')}); send UTF-8 text` };
}

/**
 * Walks a parsed JSON value without recursion and returns its first problem: nesting deeper than
 * `maxDepth` (the document itself is level 1) or a number that is not finite.
 */
export function inspectJson(value: unknown, maxDepth: number): JsonProblem | undefined {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path: shortPath(path), message: nonFiniteMessage };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= maxDepth) return { path: shortPath(path), message: `JSON nests deeper than ${maxDepth} levels (the limit is ${maxDepth})` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) stack.push({ v: (v as Record<string, unknown>)[keys[i]!], path: [...path, keys[i]!] });
    }
  }
  return undefined;
}

export const nonFiniteMessage = 'number is out of range (JSON numbers must be finite, at most ±1.79e308)';

/** A path of a deep value stays readable: its first levels, then how many more. */
function shortPath(path: (string | number)[]): string {
  if (path.length <= 12) return formatPath(path);
  return `${formatPath(path.slice(0, 10))}.…(${path.length - 10} more levels)`;
}

export type LimitedJson = { ok: true; value: unknown } | { ok: false; problem: JsonProblem };

/** Parses JSON text under the rules above: UTF-8, syntax, depth, finite numbers. */
export function parseLimitedJson(buf: Buffer, maxDepth: number): LimitedJson {
  const bad = utf8Problem(buf);
  if (bad) return { ok: false, problem: bad };
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    return { ok: false, problem: { path: '', message: `body is not valid JSON: ${(e as Error).message}` } };
  }
  const problem = inspectJson(value, maxDepth);
  return problem ? { ok: false, problem } : { ok: true, value };
}
