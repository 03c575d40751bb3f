/**
 * What a fold produces, per generation: per counting stream, cells of good and total counts by
 * 10-second bucket of event time, overall and per breakdown value combination. The counter
 * writer, the metrics and `keel verify counts` read these; the fold fills them (fold.ts).
 */
import type { CelValue } from '../cel/values.js';
import type { CompiledGen } from './compiled.js';

export interface Cell {
  good: number;
  total: number;
}

/** Cells by 10 s bucket start, with the last bucket cached (events of a batch cluster in time). */
export class BucketCells {
  readonly cells = new Map<number, Cell>();
  private lastBucket = NaN;
  private lastCell: Cell | undefined;

  add(bucket: number, good: boolean): void {
    let cell = this.lastCell;
    if (bucket !== this.lastBucket || cell === undefined) {
      cell = this.cells.get(bucket);
      if (cell === undefined) {
        cell = { good: 0, total: 0 };
        this.cells.set(bucket, cell);
      }
      this.lastBucket = bucket;
      this.lastCell = cell;
    }
    cell.total++;
    if (good) cell.good++;
  }

  /** Adds counts already folded elsewhere (marginals sum combinations' cells; the fold's counters). */
  addCounts(bucket: number, good: number, total: number): void {
    const cell = this.cells.get(bucket);
    if (cell) {
      cell.good += good;
      cell.total += total;
    } else this.cells.set(bucket, { good, total });
  }
}

export interface Combo {
  values: string[];
  cells: BucketCells;
}

export interface StreamDelta {
  all: BucketCells;
  /** Every breakdown value combination seen, with its cells. */
  combos: Combo[];
  /**
   * The reference fold's combinations by their raw values, one map level per breakdown attribute
   * (keying by the values themselves avoids building a key string per event). The indexed fold
   * keeps its own per stream (fold-counters.ts) and leaves this empty.
   */
  comboTree: Map<CelValue, unknown>;
}

/** A generation's counts; a fold makes one only for generations that counted an event. */
export interface GenDelta {
  uid: string;
  streams: StreamDelta[];
}

/** The deltas of a fold by generation uid, as the counter writer and the metrics read them. */
export type FoldDeltas = Pick<ReadonlyMap<string, GenDelta>, 'get' | 'values'>;

export function deltaOf(out: Map<string, GenDelta>, gen: CompiledGen): GenDelta {
  let d = out.get(gen.uid);
  if (!d) {
    d = { uid: gen.uid, streams: Array.from({ length: gen.streams }, () => ({ all: new BucketCells(), combos: [], comboTree: new Map() })) };
    out.set(gen.uid, d);
  }
  return d;
}

/** How a breakdown value is shown and stored. */
export function breakdownText(v: CelValue): string {
  if (v === undefined) return '(none)';
  if (typeof v === 'string') return v;
  if (typeof v === 'symbol') return '(object)';
  return String(v);
}

/**
 * The combination of a record's values at `slots` (one per breakdown attribute) in a stream, made
 * on first sight.
 */
export function comboOf(s: StreamDelta, record: readonly CelValue[], slots: readonly number[]): Combo {
  const level = lastLevel(s.comboTree, record, slots);
  const v = record[slots[slots.length - 1]!];
  let c = level.get(v) as Combo | undefined;
  if (c === undefined) {
    c = { values: slots.map((slot) => breakdownText(record[slot])), cells: new BucketCells() };
    level.set(v, c);
    s.combos.push(c);
  }
  return c;
}

/**
 * A tree with one map level per breakdown attribute, keyed by raw values: the level holding the
 * record's last value (levels made on first sight).
 */
export function lastLevel(root: Map<CelValue, unknown>, record: readonly CelValue[], slots: readonly number[]): Map<CelValue, unknown> {
  let level = root;
  for (let k = 0; k < slots.length - 1; k++) {
    const v = record[slots[k]!];
    let next = level.get(v) as Map<CelValue, unknown> | undefined;
    if (next === undefined) {
      next = new Map();
      level.set(v, next);
    }
    level = next;
  }
  return level;
}
