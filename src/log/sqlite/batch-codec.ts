/**
 * How a compacted segment stores one batch: a frame that decodes back to the exact NDJSON bytes
 * that were appended. Pure functions, no I/O.
 *
 * Measured on `keel bench ingest`'s events (261 B of NDJSON each, BENCHMARKS.md): brotli or deflate
 * of the NDJSON as it is stops at 45-47 B/event, because each event carries 48 random hex digits
 * (trace and span ids) that a byte-oriented coder stores at ~4.3 bits each among the JSON around
 * them. Split into columns (one per attribute) with hex-id columns stored as their binary bytes,
 * the same events take 36 B/event. A batch whose lines do not re-serialize byte for byte (spaces,
 * key order, duplicate keys, a missing final newline) is stored as brotli of the NDJSON instead.
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
  /** Key lists, one per distinct shape (ordered keys) of the batch's events. */
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
 * Columns, or undefined when the batch would not come back byte for byte: every line is rebuilt
 * from its parsed values the way the decoder will rebuild it and compared with the original.
 */
function encodeColumnar(ndjson: Uint8Array): Buffer | undefined {
  const text = Buffer.from(ndjson.buffer, ndjson.byteOffset, ndjson.byteLength).toString('utf8');
  if (text.length === 0 || !text.endsWith('\n')) return undefined;
  const shapes = new Map<string, number>();
  const shapeKeys: string[][] = [];
  const shapeIds: number[] = [];
  const columns = new Map<string, Column>();
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const line = text.slice(pos, nl);
    pos = nl + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const o = parsed as Record<string, unknown>;
    let rebuilt = '{';
    let shape = '';
    const keys: string[] = [];
    for (const k in o) {
      const v = JSON.stringify(o[k]);
      let c = columns.get(k);
      if (!c) columns.set(k, (c = { key: k, values: [] }));
      c.values.push(v);
      rebuilt += `${keys.length > 0 ? ',' : ''}${JSON.stringify(k)}:${v}`;
      keys.push(k);
      shape += `${k}\u0000`;
    }
    rebuilt += '}';
    if (rebuilt !== line) return undefined;
    let id = shapes.get(shape);
    if (id === undefined) {
      id = shapeKeys.length;
      shapes.set(shape, id);
      shapeKeys.push(keys);
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
      // JSON texts never hold a raw newline, so one separates values.
      textParts.push(c.values.join(SEP));
    }
  }
  const packed = brotli(Buffer.from(`${JSON.stringify(header)}${SEP}${textParts.join(SEP)}`, 'utf8'));
  const lengths = Buffer.allocUnsafe(4);
  lengths.writeUInt32LE(packed.byteLength, 0);
  return Buffer.concat([Buffer.of(FrameCodec.Columnar), lengths, packed, ...binary]);
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
  const keyJson = new Map<string, string>();
  for (const k of header.keys) keyJson.set(k, JSON.stringify(k));
  // Each column's values in event order, read through a cursor.
  const counts = new Map<string, number>();
  for (const id of shapeIds) for (const k of header.shapes[id]!) counts.set(k, (counts.get(k) ?? 0) + 1);
  const readers = new Map<string, () => string>();
  let next = 1;
  header.keys.forEach((k, i) => {
    const n = counts.get(k) ?? 0;
    const width = header.hex[i]!;
    if (width > 0) {
      const start = binaryAt;
      binaryAt += n * width;
      let at = start;
      readers.set(k, () => {
        const v = `"${buf.toString('hex', at, at + width)}"`;
        at += width;
        return v;
      });
    } else {
      const values = parts.slice(next, next + n);
      next += n;
      let at = 0;
      readers.set(k, () => values[at++]!);
    }
  });
  if (binaryAt !== buf.byteLength) throw new CorruptFrameError(`batch frame holds ${buf.byteLength} bytes, its columns ${binaryAt}`);
  let out = '';
  for (const id of shapeIds) {
    const keys = header.shapes[id]!;
    out += '{';
    for (let i = 0; i < keys.length; i++) out += `${i > 0 ? ',' : ''}${keyJson.get(keys[i]!)!}:${readers.get(keys[i]!)!()}`;
    out += '}\n';
  }
  return Buffer.from(out, 'utf8');
}
