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
}

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

  /** `paths[i]` is the attribute read into slot i. */
  constructor(private readonly paths: readonly (readonly string[])[]) {
    this.root = { entries: [], slots: [] };
    paths.forEach((path, slot) => {
      let node = this.root;
      for (let i = 0; i < path.length; i++) {
        const keyBytes = Buffer.from(path[i]!, 'utf8');
        let entry = node.entries.find((e) => Buffer.compare(e.key, keyBytes) === 0);
        if (!entry) {
          entry = { key: keyBytes, slot: -1, child: null };
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
    this.fallbacks++;
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
    if (c === QUOTE) record[entry.slot] = this.string();
    else if (c === 0x74) record[entry.slot] = this.literal(0x74, 4, true);
    else if (c === 0x66) record[entry.slot] = this.literal(0x66, 5, false);
    else if (c === 0x6e) record[entry.slot] = this.literal(0x6e, 4, null);
    else if (c === 0x5b) {
      record[entry.slot] = OBJECT;
      this.skipValue();
    } else record[entry.slot] = this.number();
  }

  private literal<T>(_first: number, length: number, value: T): T {
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

  private string(): string {
    const d = this.data;
    const start = this.pos + 1;
    let p = start;
    let escaped = false;
    for (;;) {
      const c = d[p];
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        p += 2;
        continue;
      }
      if (c === undefined || c === NEWLINE || c < 0x20) throw FALLBACK;
      p++;
    }
    this.pos = p + 1;
    if (!escaped) return d.toString('utf8', start, p);
    return JSON.parse(d.toString('utf8', start - 1, p + 1)) as string;
  }

  private number(): number {
    const d = this.data;
    const start = this.pos;
    let p = start;
    let simple = true;
    let v = 0;
    if (d[p] === 0x2d) {
      simple = false;
      p++;
    }
    for (;;) {
      const c = d[p];
      if (c !== undefined && c >= 0x30 && c <= 0x39) {
        v = v * 10 + (c - 0x30);
        p++;
      } else if (c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) {
        simple = false;
        p++;
      } else break;
    }
    if (p === start) throw FALLBACK;
    this.pos = p;
    if (simple && p - start <= 15) return v;
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
