/**
 * How a compacted segment stores one batch: a frame that decodes back to the exact NDJSON bytes
 * that were appended. Pure functions, no I/O.
 *
 * Measured on `keel bench ingest`'s events (261 B of NDJSON each, BENCHMARKS.md): brotli or deflate
 * of the NDJSON as it is stops at 45-47 B/event, because each event carries 48 random hex digits
 * (trace and span ids) that a byte-oriented coder stores at ~4.3 bits each among the JSON around
 * them. Split into columns (one per attribute) with hex-id columns stored as their binary bytes,
 * the same events take 36 B/event. A batch with a line that is not a flat `{"key":value,…}` run
 * (a blank line, spaces between the tokens, no final newline) is stored as brotli of the NDJSON.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

export const FrameCodec = {
  /** brotli of the NDJSON as received */
  Brotli: 1,
  /** columns of attribute values, brotli-compressed, hex-id columns as binary */
  Columnar: 2,
} as const;

/** Quality 5: within 1 % of quality 9's size for a tenth of its CPU (BENCHMARKS.md). */
const BROTLI_QUALITY = 5;

const HEX = /^[0-9a-f]+$/;
const SEP = '\n';

function brotli(data: Uint8Array): Buffer {
  return brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: data.byteLength },
  });
}

interface Column {
  key: string;
  values: string[];
}

interface ColumnarHeader {
  /** Key lists (each key as its JSON text, quotes included), one per distinct shape of the batch's events. */
  shapes: string[][];
  /** Per column in `keys` order: the byte length of each value when stored as binary hex, else 0. */
  hex: number[];
  keys: string[];
}

/** Encodes one batch of NDJSON into a frame: [codec byte][payload]. */
export function encodeBatch(ndjson: Uint8Array): Buffer {
  const columnar = encodeColumnar(ndjson);
  if (columnar) return columnar;
  return Buffer.concat([Buffer.of(FrameCodec.Brotli), brotli(ndjson)]);
}

/**
 * Columns, or undefined when a line is not a flat run of `"key":value` pairs. Lines are split,
 * not parsed: each key and value is kept as its exact text, and the decoder joins them back with
 * the same `{`, `:`, `,` and `}`, so the round trip is byte for byte by construction (and costs a
 * scan of the line, not a JSON.parse and a JSON.stringify of every value).
 */
function encodeColumnar(ndjson: Uint8Array): Buffer | undefined {
  const text = Buffer.from(ndjson.buffer, ndjson.byteOffset, ndjson.byteLength).toString('utf8');
  if (text.length === 0 || !text.endsWith('\n')) return undefined;
  const shapes = new Map<string, number>();
  const shapeKeys: string[][] = [];
  const shapeIds: number[] = [];
  const columns = new Map<string, Column>();
  const keys: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    keys.length = 0;
    if (!splitLine(text, pos, nl, keys, columns)) return undefined;
    pos = nl + 1;
    const shape = keys.join('\u0000');
    let id = shapes.get(shape);
    if (id === undefined) {
      id = shapeKeys.length;
      shapes.set(shape, id);
      shapeKeys.push([...keys]);
    }
    shapeIds.push(id);
  }
  const header: ColumnarHeader = { shapes: shapeKeys, hex: [], keys: [] };
  const textParts: string[] = [shapeIds.join(',')];
  const binary: Buffer[] = [];
  for (const c of columns.values()) {
    header.keys.push(c.key);
    const width = hexWidth(c.values);
    header.hex.push(width);
    if (width > 0) {
      const b = Buffer.allocUnsafe(c.values.length * width);
      let off = 0;
      for (const v of c.values) off += b.write(v.slice(1, -1), off, 'hex');
      binary.push(b);
    } else {
      // A line holds no newline, so neither does a value: one separates values.
      textParts.push(c.values.join(SEP));
    }
  }
  const packed = brotli(Buffer.from(`${JSON.stringify(header)}${SEP}${textParts.join(SEP)}`, 'utf8'));
  const lengths = Buffer.allocUnsafe(4);
  lengths.writeUInt32LE(packed.byteLength, 0);
  return Buffer.concat([Buffer.of(FrameCodec.Columnar), lengths, packed, ...binary]);
}

const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/**
 * Splits `{"k":v,"k2":v2}` (text[start, end)) into key texts (pushed on `keys`) and value texts
 * (appended to their key's column); false when the line has another form.
 */
function splitLine(text: string, start: number, end: number, keys: string[], columns: Map<string, Column>): boolean {
  if (end - start < 2 || text.charCodeAt(start) !== OPEN_BRACE || text.charCodeAt(end - 1) !== CLOSE_BRACE) return false;
  const last = end - 1;
  if (start + 1 === last) return true;
  let i = start + 1;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return false;
    const keyEnd = stringEnd(text, i, last);
    if (keyEnd < 0 || text.charCodeAt(keyEnd) !== COLON) return false;
    const valueEnd = valueEndAt(text, keyEnd + 1, last);
    if (valueEnd < 0) return false;
    const key = text.slice(i, keyEnd);
    let c = columns.get(key);
    if (!c) columns.set(key, (c = { key, values: [] }));
    c.values.push(text.slice(keyEnd + 1, valueEnd));
    keys.push(key);
    if (valueEnd === last) return true;
    if (text.charCodeAt(valueEnd) !== COMMA) return false;
    i = valueEnd + 1;
  }
}

/** Index just past the string starting with the quote at `i`, or -1 if it does not close before `limit`. */
function stringEnd(text: string, i: number, limit: number): number {
  let k = i + 1;
  for (;;) {
    const q = text.indexOf('"', k);
    if (q < 0 || q >= limit) return -1;
    let backslashes = 0;
    while (text.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    k = q + 1;
  }
}

/** Index just past the value starting at `i` (a string, an object or array, or a scalar), or -1. */
function valueEndAt(text: string, i: number, limit: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return stringEnd(text, i, limit);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    let k = i;
    while (k < limit) {
      const ch = text.charCodeAt(k);
      if (ch === QUOTE) {
        k = stringEnd(text, k, limit);
        if (k < 0) return -1;
        continue;
      }
      if (ch === OPEN_BRACE || ch === OPEN_BRACKET) depth++;
      else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return k + 1;
      }
      k++;
    }
    return -1;
  }
  let k = i;
  while (k < limit) {
    const ch = text.charCodeAt(k);
    if (ch === COMMA || ch === CLOSE_BRACE || ch === QUOTE || ch === OPEN_BRACE || ch === OPEN_BRACKET) break;
    k++;
  }
  return k > i ? k : -1;
}

/** Byte width when every value is a quoted lowercase hex string of one even length, else 0. */
function hexWidth(values: string[]): number {
  const first = values[0]!;
  const len = first.length;
  if (len < 4 || len % 2 !== 0 || first.charCodeAt(0) !== 34) return 0;
  for (const v of values) {
    if (v.length !== len || v.charCodeAt(0) !== 34 || v.charCodeAt(len - 1) !== 34 || !HEX.test(v.slice(1, -1))) return 0;
  }
  return (len - 2) / 2;
}

export class CorruptFrameError extends Error {
  readonly code = 'corrupt_frame';
}

/** The exact NDJSON a frame was encoded from. */
export function decodeBatch(frame: Uint8Array): Buffer {
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  switch (buf[0]) {
    case FrameCodec.Brotli:
      return brotliDecompressSync(buf.subarray(1));
    case FrameCodec.Columnar:
      return decodeColumnar(buf);
    default:
      throw new CorruptFrameError(`unknown batch frame codec ${String(buf[0])}`);
  }
}

function decodeColumnar(buf: Buffer): Buffer {
  const packedLength = buf.readUInt32LE(1);
  const text = brotliDecompressSync(buf.subarray(5, 5 + packedLength)).toString('utf8');
  let binaryAt = 5 + packedLength;
  const headerEnd = text.indexOf(SEP);
  const header = JSON.parse(text.slice(0, headerEnd)) as ColumnarHeader;
  const parts = text.slice(headerEnd + 1).split(SEP);
  const shapeIds = parts[0]!.split(',').map(Number);
  // Each column's values in event order: text columns as an array, hex columns from their bytes,
  // read through a cursor per column.
  const counts = new Map<string, number>();
  for (const id of shapeIds) for (const k of header.shapes[id]!) counts.set(k, (counts.get(k) ?? 0) + 1);
  const column = new Map<string, number>();
  const texts: (string[] | undefined)[] = [];
  const hexStarts: number[] = [];
  const widths: number[] = [];
  let next = 1;
  header.keys.forEach((k, i) => {
    column.set(k, i);
    const n = counts.get(k) ?? 0;
    const width = header.hex[i]!;
    widths.push(width);
    hexStarts.push(binaryAt);
    if (width > 0) {
      texts.push(undefined);
      binaryAt += n * width;
    } else {
      texts.push(parts.slice(next, next + n));
      next += n;
    }
  });
  if (binaryAt !== buf.byteLength) throw new CorruptFrameError(`batch frame holds ${buf.byteLength} bytes, its columns ${binaryAt}`);
  const plans = header.shapes.map((keys) => ({
    columns: keys.map((k) => column.get(k)!),
    prefixes: keys.map((k, i) => `${i === 0 ? '{' : ','}${k}:`),
  }));
  const cursors = new Array<number>(header.keys.length).fill(0);
  let out = '';
  for (const id of shapeIds) {
    const plan = plans[id]!;
    let line = plan.columns.length === 0 ? '{' : '';
    for (let i = 0; i < plan.columns.length; i++) {
      const c = plan.columns[i]!;
      const at = cursors[c]!;
      cursors[c] = at + 1;
      const t = texts[c];
      const from = hexStarts[c]! + at * widths[c]!;
      line += plan.prefixes[i]! + (t !== undefined ? t[at]! : `"${buf.toString('hex', from, from + widths[c]!)}"`);
    }
    out += `${line}}\n`;
  }
  return Buffer.from(out, 'utf8');
}
