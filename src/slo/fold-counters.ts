/**
 * The indexed fold's counters for one plan within one fold result: good and total per counting
 * series (a generation's stream overall, or one of its breakdown combinations) in one typed array,
 * two 10 s buckets per series (a batch's events span one bucket, or two at a boundary; a third
 * moves the oldest into the deltas). Counting an event in a series touches one 64-byte line;
 * the counts move into the fold's `GenDelta`s (the objects the writer reads) only when the result
 * is read (`settle`), once per transaction instead of once per event.
 *
 * Bounded: a series slot per stream of the plan, plus one per breakdown combination seen. A fold
 * result hands its counters back to the plan when it is read, and the plan's next result reuses
 * them with their combinations (up to MAX_KEPT_COMBOS), so a transaction's fold does not allocate
 * and find again what the previous one did.
 */
import type { CelRecord, CelValue } from '../cel/values.js';
import type { TenantPlan } from './compiled.js';
import { BucketCells, breakdownText, deltaOf, lastLevel, type Combo, type GenDelta } from './fold-cells.js';
import { G_SLOT, GEN, type FoldLayout } from './fold-layout.js';

/** Float64 fields per series: bucket, good, total of two buckets, and padding to 64 bytes. */
const SERIES = 8;
/** Combinations spare counters keep for the plan's next fold result. */
const MAX_KEPT_COMBOS = 100_000;

export class PlanCounters {
  private cells: Float64Array;
  /** Series slots in use: the plan's streams first, then combinations as they are seen. */
  private series = 0;
  /** Per combination series (slot - streams): its stream slot and values as shown and stored. */
  private comboStream: number[] = [];
  private comboText: string[][] = [];
  /**
   * Per stream slot, its combinations' series: one map level per breakdown attribute, keyed by
   * raw values. Per stream (not shared by the plan), so the maps an event walks hold only the
   * values its generation has seen: small, and warm while the fold counts a group of events.
   */
  private comboTrees: (Map<CelValue, unknown> | undefined)[] = [];
  /**
   * The deltas of the fold result using these counters, and the ones found so far per generation
   * position and per combination series. A combination series is the only one with its values in
   * its stream (one plan's counters per result), so its `Combo` is made directly, not looked up,
   * unless the generation's delta was there before these counters were attached (a result read,
   * then folded into again): then its combinations are searched first (`hadDelta`).
   */
  private into = new Map<string, GenDelta>();
  private genOut: (GenDelta | undefined)[] = [];
  private hadDelta: boolean[] = [];
  private comboOut: (Combo | undefined)[] = [];

  constructor(
    readonly plan: TenantPlan,
    readonly layout: FoldLayout,
  ) {
    this.cells = new Float64Array(Math.max(1, layout.streams) * SERIES);
    this.forgetCombos();
  }

  attach(into: Map<string, GenDelta>): void {
    this.into = into;
    this.genOut = [];
    this.hadDelta = [];
    this.comboOut = [];
  }

  /**
   * After `settle`, before reuse by another fold result: combinations are kept for it unless there
   * are more than `MAX_KEPT_COMBOS` (a breakdown by a high-cardinality attribute), which bounds
   * what a plan's spare counters hold.
   */
  release(): void {
    this.attach(new Map());
    if (this.series - this.layout.streams > MAX_KEPT_COMBOS) {
      this.forgetCombos();
      if (this.cells.length > Math.max(1, this.layout.streams) * SERIES * 2) this.cells = new Float64Array(Math.max(1, this.layout.streams) * SERIES);
    }
  }

  /** Bytes of the counters' arrays (the bench reports them). */
  get bytes(): number {
    return this.cells.byteLength;
  }

  private forgetCombos(): void {
    this.series = this.layout.streams;
    this.comboStream = [];
    this.comboText = [];
    this.comboTrees = [];
  }

  /** Counts an event in a series. */
  count(s: number, bucket: number, good: boolean): void {
    const c = this.cells;
    const o = s * SERIES;
    if (c[o + 2] !== 0 && c[o] === bucket) {
      c[o + 2] = c[o + 2]! + 1;
      if (good) c[o + 1] = c[o + 1]! + 1;
    } else if (c[o + 5] !== 0 && c[o + 3] === bucket) {
      c[o + 5] = c[o + 5]! + 1;
      if (good) c[o + 4] = c[o + 4]! + 1;
    } else if (c[o + 2] === 0) {
      c[o] = bucket;
      c[o + 1] = good ? 1 : 0;
      c[o + 2] = 1;
    } else if (c[o + 5] === 0) {
      c[o + 3] = bucket;
      c[o + 4] = good ? 1 : 0;
      c[o + 5] = 1;
    } else {
      this.move(s, c[o]!, c[o + 1]!, c[o + 2]!);
      c[o] = bucket;
      c[o + 1] = good ? 1 : 0;
      c[o + 2] = 1;
    }
  }

  /** The series of the record's combination of values at `slots` in a stream, made on first sight. */
  comboSlot(stream: number, slots: readonly number[], record: CelRecord): number {
    let root = this.comboTrees[stream];
    if (root === undefined) this.comboTrees[stream] = root = new Map();
    const level = lastLevel(root, record, slots);
    const v = record[slots[slots.length - 1]!];
    let s = level.get(v) as number | undefined;
    if (s === undefined) {
      s = this.series++;
      if (s * SERIES >= this.cells.length) {
        const grown = new Float64Array(this.cells.length * 2);
        grown.set(this.cells);
        this.cells = grown;
      }
      this.comboStream.push(stream);
      this.comboText.push(slots.map((slot) => breakdownText(record[slot])));
      level.set(v, s);
    }
    return s;
  }

  /** Moves every count into the deltas and empties the series (they stay allocated). */
  settle(): void {
    const c = this.cells;
    for (let s = 0; s < this.series; s++) {
      const o = s * SERIES;
      if (c[o + 2] !== 0) this.move(s, c[o]!, c[o + 1]!, c[o + 2]!);
      if (c[o + 5] !== 0) this.move(s, c[o + 3]!, c[o + 4]!, c[o + 5]!);
      c[o + 1] = c[o + 2] = c[o + 4] = c[o + 5] = 0;
    }
  }

  private move(s: number, bucket: number, good: number, total: number): void {
    const { layout } = this;
    const combo = s >= layout.streams ? s - layout.streams : -1;
    const stream = combo < 0 ? s : this.comboStream[combo]!;
    const g = layout.slotGen[stream]!;
    let delta = this.genOut[g];
    if (delta === undefined) {
      const gen = this.plan.gens[g]!;
      this.hadDelta[g] = this.into.has(gen.uid);
      this.genOut[g] = delta = deltaOf(this.into, gen);
    }
    const sd = delta.streams[stream - layout.rows[g * GEN + G_SLOT]!]!;
    if (combo < 0) sd.all.addCounts(bucket, good, total);
    else {
      let c = this.comboOut[combo];
      if (c === undefined) {
        const values = this.comboText[combo]!;
        c = this.hadDelta[g] === true ? sd.combos.find((x) => sameValues(x.values, values)) : undefined;
        if (c === undefined) {
          c = { values, cells: new BucketCells() };
          sd.combos.push(c);
        }
        this.comboOut[combo] = c;
      }
      c.cells.addCounts(bucket, good, total);
    }
  }
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
