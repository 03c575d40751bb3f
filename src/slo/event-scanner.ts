/**
 * Reads the attributes SLO expressions need straight from stored NDJSON bytes, without building
 * each event as an object. JSON.parse of a ~250-byte event costs about a microsecond here, which
 * alone is the 1 M events/s/core budget of aggregation; this scanner walks the bytes once, decodes
 * only the wanted values (typically 5 of 10 fields) and skips the rest (trace ids, user ids) with
 * a tight byte loop. `keel bench slo` prints its rate beside the JSON.parse ceiling.
 *
 * Semantics match JSON.parse exactly (last duplicate key wins, escapes decoded): anything unusual
 * (escaped keys, malformed bytes) makes the scanner fall back to JSON.parse for that event, and a
 * property test compares both on random events.
 */
import { OBJECT, type CelRecord } from '../cel/values.js';

interface TrieEntry {
  key: Uint8Array;
  /** Slot of this key's value, or -1 when only nested keys are wanted. */
  slot: number;
  /** Wanted keys inside this key's object value. */
  child: TrieNode | null;
  /** Recently seen string values with their bytes: most attributes SLOs filter on repeat a lot. */
  interned: InternTable;
}

/**
 * Decoded strings per attribute, found by their bytes. Decoding a string (allocation included)
 * costs more than hashing and comparing its bytes, and the attributes SLOs read (service, route,
 * region, tier) have a bounded set of values, often many: a fleet of 1,000 services has 5,000
 * routes. Returning the same string for the same bytes also makes the fold's map lookups by value
 * cheap (the string's hash is computed once). An attribute of unique values (ids) fills the table
 * and, then missing more than hitting, turns it off; at most `MAX_INTERNED` strings per attribute.
 */
class InternTable {
  private readonly bytes: Uint8Array[] = [];
  private readonly strings: string[] = [];
  /** Open addressing: entry index + 1 per slot (0: empty). */
  private slots = new Int32Array(64);
  private hits = 0;
  private misses = 0;
  /** Off once an attribute proves to have mostly unique values (ids, timestamps). */
  enabled = true;

  lookup(d: Buffer, start: number, end: number): string | undefined {
    const mask = this.slots.length - 1;
    for (let i = hashBytes(d, start, end) & mask; ; i = (i + 1) & mask) {
      const e = this.slots[i]!;
      if (e === 0) break;
      const b = this.bytes[e - 1]!;
      if (b.length === end - start && sameBytes(b, d, start)) {
        this.hits++;
        return this.strings[e - 1];
      }
    }
    if (++this.misses > this.hits && this.bytes.length >= MAX_INTERNED) this.enabled = false;
    return undefined;
  }

  add(d: Buffer, start: number, end: number, value: string): void {
    if (end - start > 64 || this.bytes.length >= MAX_INTERNED) return;
    this.bytes.push(Uint8Array.prototype.slice.call(d, start, end));
    this.strings.push(value);
    if (this.bytes.length * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(this.bytes.length - 1);
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let e = 0; e < this.bytes.length; e++) this.place(e);
  }

  private place(e: number): void {
    const b = this.bytes[e]!;
    const mask = this.slots.length - 1;
    let i = hashBytes(b, 0, b.length) & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = e + 1;
  }
}

const MAX_INTERNED = 1_024;

/**
 * FNV-1a over the length and the last 16 bytes at most: values of an attribute differ at their end
 * (ids, numbers, route suffixes) far more often than only before it, and a collision costs one
 * more comparison, never a wrong string.
 */
function hashBytes(d: Uint8Array, start: number, end: number): number {
  let h = Math.imul(0x811c9dc5 ^ (end - start), 0x01000193);
  for (let i = Math.max(start, end - 16); i < end; i++) h = Math.imul(h ^ d[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(b: Uint8Array, d: Uint8Array, start: number): boolean {
  for (let j = b.length - 1; j >= 0; j--) if (b[j] !== d[start + j]) return false;
  return true;
}

/** Powers of ten exact in a double, for the fast decimal path. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

interface TrieNode {
  entries: TrieEntry[];
  /** Every slot at or below this node: cleared when the key repeats (last duplicate wins). */
  slots: number[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

class Fallback extends Error {}
const FALLBACK = new Fallback('fallback');

export class EventScanner {
  private readonly root: TrieNode;
  private data: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  /** Events the byte scanner handed to JSON.parse (for the bench and tests). */
  fallbacks = 0;

  /**
   * `paths[i]` is the attribute read into slot i. `mode: 'json'` parses every event with JSON.parse
   * instead (the bench compares both).
   */
  constructor(
    private readonly paths: readonly (readonly string[])[],
    private readonly mode: 'bytes' | 'json' = 'bytes',
    /**
     * Read the top-level `ts` (slot 0) as epoch ms straight from its bytes instead of as text, when
     * no expression compares `ts` itself: it saves decoding a unique string per event.
     */
    private readonly tsAsTime = false,
  ) {
    this.root = { entries: [], slots: [] };
    paths.forEach((path, slot) => {
      let node = this.root;
      for (let i = 0; i < path.length; i++) {
        const keyBytes = Buffer.from(path[i]!, 'utf8');
        let entry = node.entries.find((e) => Buffer.compare(e.key, keyBytes) === 0);
        if (!entry) {
          entry = { key: keyBytes, slot: -1, child: null, interned: new InternTable() };
          node.entries.push(entry);
        }
        node.slots.push(slot);
        if (i === path.length - 1) entry.slot = slot;
        else {
          entry.child ??= { entries: [], slots: [] };
          node = entry.child;
        }
      }
    });
  }

  reset(data: Uint8Array): void {
    this.data = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.pos = 0;
    this.end = data.byteLength;
  }

  /** Fills `record` (cleared first) with the next event's wanted values; false when none is left. */
  next(record: CelRecord): boolean {
    const d = this.data;
    const end = this.end;
    let p = this.pos;
    while (p < end) {
      const c = d[p]!;
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === NEWLINE) p++;
      else break;
    }
    if (p >= end) {
      this.pos = end;
      return false;
    }
    record.fill(undefined);
    const lineStart = p;
    if (this.mode === 'json') {
      this.parseLine(lineStart, record);
      return true;
    }
    try {
      if (d[p] !== 0x7b) throw FALLBACK;
      this.pos = p;
      this.object(this.root, record);
      p = this.pos;
      // Only whitespace may follow the object on its line.
      while (p < end) {
        const c = d[p]!;
        if (c === NEWLINE) break;
        if (c !== 0x20 && c !== 0x09 && c !== 0x0d) throw FALLBACK;
        p++;
      }
      this.pos = p;
    } catch (e) {
      if (e !== FALLBACK) throw e;
      this.parseLine(lineStart, record);
    }
    return true;
  }

  /** The slow path: JSON.parse the event's line and walk the wanted paths. */
  private parseLine(lineStart: number, record: CelRecord): void {
    if (this.mode === 'bytes') this.fallbacks++;
    let nl = this.data.indexOf(NEWLINE, lineStart);
    if (nl < 0 || nl > this.end) nl = this.end;
    this.pos = nl;
    record.fill(undefined);
    let ev: unknown;
    try {
      ev = JSON.parse(this.data.toString('utf8', lineStart, nl));
    } catch {
      return;
    }
    fillFromObject(ev, this.paths, record);
  }

  private skipWs(): void {
    const d = this.data;
    let p = this.pos;
    for (;;) {
      const c = d[p];
      if (c === 0x20 || c === 0x09 || c === 0x0d) p++;
      else break;
    }
    this.pos = p;
  }

  /** Parses an object at `pos` (which is '{'), filling wanted slots under `node`. */
  private object(node: TrieNode, record: CelRecord): void {
    const d = this.data;
    this.pos++;
    this.skipWs();
    if (d[this.pos] === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      if (d[this.pos] !== QUOTE) throw FALLBACK;
      const keyStart = this.pos + 1;
      let p = keyStart;
      for (;;) {
        const c = d[p];
        if (c === QUOTE) break;
        if (c === BACKSLASH || c === undefined || c === NEWLINE) throw FALLBACK;
        p++;
      }
      const keyEnd = p;
      this.pos = p + 1;
      this.skipWs();
      if (d[this.pos] !== 0x3a) throw FALLBACK;
      this.pos++;
      this.skipWs();
      const entry = match(node, d, keyStart, keyEnd);
      if (entry === null) this.skipValue();
      else this.wantedValue(entry, record);
      this.skipWs();
      const c = d[this.pos];
      if (c === 0x2c) {
        this.pos++;
        this.skipWs();
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return;
      }
      throw FALLBACK;
    }
  }

  private wantedValue(entry: TrieEntry, record: CelRecord): void {
    const d = this.data;
    const c = d[this.pos];
    if (entry.child !== null) {
      // A repeated key replaces everything an earlier occurrence set below it.
      for (const s of entry.child.slots) record[s] = undefined;
    }
    if (c === 0x7b) {
      if (entry.slot >= 0) record[entry.slot] = OBJECT;
      if (entry.child !== null) this.object(entry.child, record);
      else this.skipValue();
      return;
    }
    if (entry.slot < 0) {
      this.skipValue();
      return;
    }
    if (c === QUOTE) {
      if (entry.slot === 0 && this.tsAsTime) {
        const t = this.timestamp();
        if (t === t) {
          record[0] = t;
          return;
        }
      }
      record[entry.slot] = this.string(entry.interned);
    } else if (c === 0x74) record[entry.slot] = this.literal(4, true);
    else if (c === 0x66) record[entry.slot] = this.literal(5, false);
    else if (c === 0x6e) record[entry.slot] = this.literal(4, null);
    else if (c === 0x5b) {
      record[entry.slot] = OBJECT;
      this.skipValue();
    } else record[entry.slot] = this.number();
  }

  private literal<T>(length: number, value: T): T {
    const d = this.data;
    const p = this.pos;
    const ok =
      value === true
        ? d[p + 1] === 0x72 && d[p + 2] === 0x75 && d[p + 3] === 0x65
        : value === false
          ? d[p + 1] === 0x61 && d[p + 2] === 0x6c && d[p + 3] === 0x73 && d[p + 4] === 0x65
          : d[p + 1] === 0x75 && d[p + 2] === 0x6c && d[p + 3] === 0x6c;
    if (!ok) throw FALLBACK;
    this.pos = p + length;
    return value;
  }

  private string(interned: InternTable): string {
    const d = this.data;
    const start = this.pos + 1;
    let p = start;
    let escaped = false;
    for (;;) {
      const c = d[p]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        p += 2;
        continue;
      }
      if (c === undefined || c < 0x20) throw FALLBACK;
      p++;
    }
    this.pos = p + 1;
    if (escaped) return JSON.parse(d.toString('utf8', start - 1, p + 1)) as string;
    if (!interned.enabled) return d.toString('utf8', start, p);
    const known = interned.lookup(d, start, p);
    if (known !== undefined) return known;
    const value = d.toString('utf8', start, p);
    interned.add(d, start, p, value);
    return value;
  }

  /**
   * An RFC 3339 date-time string at `pos` as epoch ms (the same value as `parseRfc3339`), advancing
   * past it; NaN (and `pos` unchanged) for any other form, which the caller then reads as text.
   */
  private timestamp(): number {
    const d = this.data;
    const s = this.pos + 1;
    const dg = (i: number) => {
      const c = d[s + i]! - 0x30;
      return c >= 0 && c <= 9 ? c : -100_000;
    };
    const y = dg(0) * 1000 + dg(1) * 100 + dg(2) * 10 + dg(3);
    const mo = dg(5) * 10 + dg(6);
    const day = dg(8) * 10 + dg(9);
    const h = dg(11) * 10 + dg(12);
    const mi = dg(14) * 10 + dg(15);
    const se = dg(17) * 10 + dg(18);
    const t = d[s + 10];
    if (
      y < 0 ||
      mo < 1 ||
      mo > 12 ||
      day < 1 ||
      day > daysIn(y, mo) ||
      h < 0 ||
      h > 23 ||
      mi < 0 ||
      mi > 59 ||
      se < 0 ||
      se > 59 ||
      d[s + 4] !== 0x2d ||
      d[s + 7] !== 0x2d ||
      d[s + 13] !== 0x3a ||
      d[s + 16] !== 0x3a ||
      (t !== 0x54 && t !== 0x74 && t !== 0x20)
    ) {
      return NaN;
    }
    let i = s + 19;
    let ms = 0;
    if (d[i] === 0x2e) {
      i++;
      const from = i;
      for (;;) {
        const c = d[i]! - 0x30;
        if (!(c >= 0 && c <= 9)) break;
        if (i - from < 3) ms = ms * 10 + c;
        i++;
      }
      const n = i - from;
      if (n === 0) return NaN;
      if (n === 1) ms *= 100;
      else if (n === 2) ms *= 10;
    }
    let offset = 0;
    const z = d[i];
    if (z === 0x5a || z === 0x7a) i++;
    else if (z === 0x2b || z === 0x2d) {
      const oh = (d[i + 1]! - 0x30) * 10 + (d[i + 2]! - 0x30);
      const om = (d[i + 4]! - 0x30) * 10 + (d[i + 5]! - 0x30);
      if (!(oh >= 0 && oh <= 23 && om >= 0 && om <= 59) || d[i + 3] !== 0x3a || !isDigits(d, i + 1, 2) || !isDigits(d, i + 4, 2)) return NaN;
      offset = (oh * 60 + om) * (z === 0x2b ? 1 : -1);
      i += 6;
    } else return NaN;
    if (d[i] !== QUOTE || i - s > 40) return NaN;
    this.pos = i + 1;
    return daysFromCivil(y, mo, day) * 86_400_000 + h * 3_600_000 + mi * 60_000 + se * 1000 + ms - offset * 60_000;
  }

  /**
   * Numbers of up to 15 significant digits without an exponent are m / 10^k, which is exactly
   * what JSON.parse returns (both operands are exact doubles and IEEE division rounds correctly:
   * Clinger's fast path); anything else goes through Number().
   */
  private number(): number {
    const d = this.data;
    const start = this.pos;
    let p = start;
    let negative = false;
    if (d[p] === 0x2d) {
      negative = true;
      p++;
    }
    let m = 0;
    let digits = 0;
    let fraction = -1;
    let simple = true;
    for (;;) {
      const c = d[p];
      if (c !== undefined && c >= 0x30 && c <= 0x39) {
        m = m * 10 + (c - 0x30);
        digits++;
        p++;
      } else if (c === 0x2e && fraction < 0) {
        fraction = p;
        p++;
      } else if (c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d || c === 0x2e) {
        simple = false;
        p++;
      } else break;
    }
    if (digits === 0) throw FALLBACK;
    this.pos = p;
    if (simple && digits <= 15) {
      const k = fraction < 0 ? 0 : p - fraction - 1;
      const v = k === 0 ? m : m / POW10[k]!;
      return negative ? -v : v;
    }
    const n = Number(d.toString('latin1', start, p));
    if (Number.isNaN(n)) throw FALLBACK;
    return n;
  }

  /** Skips any JSON value at `pos`. */
  private skipValue(): void {
    const d = this.data;
    let p = this.pos;
    const c = d[p];
    if (c === QUOTE) {
      p++;
      for (;;) {
        const x = d[p];
        if (x === QUOTE) break;
        if (x === BACKSLASH) p += 2;
        else if (x === undefined || x === NEWLINE) throw FALLBACK;
        else p++;
      }
      this.pos = p + 1;
      return;
    }
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      for (;;) {
        const x = d[p];
        if (x === undefined || x === NEWLINE) throw FALLBACK;
        if (x === QUOTE) {
          p++;
          for (;;) {
            const y = d[p];
            if (y === QUOTE) break;
            if (y === BACKSLASH) p += 2;
            else if (y === undefined || y === NEWLINE) throw FALLBACK;
            else p++;
          }
        } else if (x === 0x7b || x === 0x5b) depth++;
        else if (x === 0x7d || x === 0x5d) {
          depth--;
          if (depth === 0) {
            this.pos = p + 1;
            return;
          }
        }
        p++;
      }
    }
    // number, true, false, null
    for (;;) {
      const x = d[p];
      if (x === 0x2c || x === 0x7d || x === 0x5d || x === 0x20 || x === 0x09 || x === 0x0d || x === NEWLINE || x === undefined) break;
      p++;
    }
    if (p === this.pos) throw FALLBACK;
    this.pos = p;
  }
}

function match(node: TrieNode, d: Buffer, start: number, end: number): TrieEntry | null {
  const len = end - start;
  const entries = node.entries;
  outer: for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const k = e.key;
    if (k.length !== len) continue;
    for (let j = 0; j < len; j++) if (k[j] !== d[start + j]) continue outer;
    return e;
  }
  return null;
}

/** Fills a record from an already parsed event (the fallback, the oracle and tests use it). */
export function fillFromObject(ev: unknown, paths: readonly (readonly string[])[], record: CelRecord): void {
  for (let s = 0; s < paths.length; s++) {
    let v: unknown = ev;
    for (const seg of paths[s]!) {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, seg)) {
        v = undefined;
        break;
      }
      v = (v as Record<string, unknown>)[seg];
    }
    record[s] = v === undefined ? undefined : typeof v === 'object' && v !== null ? OBJECT : (v as string | number | boolean | null);
  }
}

function isDigits(d: Buffer, at: number, n: number): boolean {
  for (let i = at; i < at + n; i++) {
    const c = d[i]!;
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function daysIn(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y0: number, m: number, d: number): number {
  const y = m <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
