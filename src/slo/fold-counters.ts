/**
 * The indexed fold's counters for one plan within one fold result: good and total per counting
 * series (a generation's stream overall, or one of its breakdown combinations) in one typed array,
 * two 10 s buckets per series (a batch's events span one bucket, or two at a boundary; a third
 * moves the oldest into the deltas). Counting an event in a series touches one 64-byte line;
 * the counts move into the fold's `GenDelta`s (the objects the writer reads) only when the result
 * is read (`settle`), once per transaction instead of once per event.
 *
 * Bounded: a series slot per stream of the plan, plus one per breakdown combination seen in this
 * fold result; both are dropped with the result.
 */
import type { CelRecord, CelValue } from '../cel/values.js';
import type { TenantPlan } from './compiled.js';
import { comboOf, deltaOf, lastLevel, type GenDelta } from './fold-cells.js';
import { G_SLOT, GEN, identity, type FoldLayout } from './fold-layout.js';

/** Float64 fields per series: bucket, good, total of two buckets, and padding to 64 bytes. */
const SERIES = 8;

export class PlanCounters {
  private cells: Float64Array;
  /** Series slots in use: the plan's streams first, then combinations as they are seen. */
  private series: number;
  /** Per combination series (slot - streams): its stream slot and combination id. */
  private readonly comboStream: number[] = [];
  private readonly comboId: number[] = [];
  /** Combination series by stream slot, then combination id. */
  private readonly comboSeries: (Map<number, number> | undefined)[] = [];
  /** Interned combinations per breakdown list: raw values, one map level per attribute → id. */
  private readonly comboTrees: (Map<CelValue, unknown> | undefined)[] = [];
  private readonly comboValues: CelValue[][] = [];
  /** Events scanned by batches every generation counted, and per generation by the others. */
  private allEvents = 0;
  private genEvents: Float64Array | null = null;

  constructor(
    readonly plan: TenantPlan,
    readonly layout: FoldLayout,
    private readonly into: Map<string, GenDelta>,
  ) {
    this.series = layout.streams;
    this.cells = new Float64Array(Math.max(1, layout.streams) * SERIES);
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

  /** The id of the record's combination of the breakdown list `b`'s values (in this result). */
  intern(b: number, record: CelRecord): number {
    const slots = this.layout.breakdowns[b]!;
    let root = this.comboTrees[b];
    if (root === undefined) this.comboTrees[b] = root = new Map();
    const level = lastLevel(root, record, slots);
    const v = record[slots[slots.length - 1]!];
    let id = level.get(v) as number | undefined;
    if (id === undefined) {
      id = this.comboValues.length;
      this.comboValues.push(slots.map((slot) => record[slot]));
      level.set(v, id);
    }
    return id;
  }

  /** The series of a combination in a stream, made on first sight. */
  comboSlot(stream: number, combo: number): number {
    let bySeries = this.comboSeries[stream];
    if (bySeries === undefined) this.comboSeries[stream] = bySeries = new Map();
    let s = bySeries.get(combo);
    if (s === undefined) {
      s = this.series++;
      if (s * SERIES >= this.cells.length) {
        const grown = new Float64Array(this.cells.length * 2);
        grown.set(this.cells);
        this.cells = grown;
      }
      this.comboStream.push(stream);
      this.comboId.push(combo);
      bySeries.set(combo, s);
    }
    return s;
  }

  /** Events of a batch: counted by every generation (`included` null) or by those it marks. */
  addEvents(events: number, included: Uint8Array | null): void {
    if (included === null) {
      this.allEvents += events;
      return;
    }
    const per = (this.genEvents ??= new Float64Array(this.plan.gens.length));
    for (let i = 0; i < included.length; i++) if (included[i] === 1) per[i] = per[i]! + events;
  }

  /** Events the fold scanned for a generation of this plan (0 for one it does not hold). */
  eventsOf(uid: string): number {
    const i = this.layout.positions.get(uid);
    return i === undefined ? 0 : this.allEvents + (this.genEvents?.[i] ?? 0);
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
    const delta = deltaOf(this.into, this.plan.gens[g]!);
    const sd = delta.streams[stream - layout.rows[g * GEN + G_SLOT]!]!;
    if (combo < 0) sd.all.addCounts(bucket, good, total);
    else {
      const values = this.comboValues[this.comboId[combo]!]!;
      comboOf(sd, values, identity(values.length)).cells.addCounts(bucket, good, total);
    }
  }
}
