/**
 * Folding events into counter deltas: per generation, per counting stream, per 10-second bucket
 * of event time (and per breakdown value combination), good and total. Pure and synchronous: the
 * aggregator and the backfill run it, and the bench measures it alone.
 */
import { parseRfc3339 } from '../core/time.js';
import type { CelRecord, CelValue, CompiledExpression } from '../cel/values.js';
import type { LogBatch } from '../log/event-log.js';
import type { CompiledGen, TenantPlan } from './compiled.js';
import type { FoldIndex } from './fold-index.js';
import type { CompareOp } from './model.js';
import { FINE_MS } from './windows.js';

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

  /** Adds counts already folded elsewhere (marginals sum combinations' cells). */
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
   * Combinations by their raw values, one map level per breakdown attribute. Keying by the values
   * themselves (interned by the scanner) avoids building a key string per event.
   */
  comboTree: Map<CelValue, unknown>;
}

export interface GenDelta {
  uid: string;
  streams: StreamDelta[];
  /** Events seen by this generation's fold (matched or not). */
  events: number;
}

export type FoldResult = Map<string, GenDelta>;

export function deltaOf(out: FoldResult, gen: CompiledGen): GenDelta {
  let d = out.get(gen.uid);
  if (!d) {
    d = { uid: gen.uid, events: 0, streams: Array.from({ length: gen.streams }, () => ({ all: new BucketCells(), combos: [], comboTree: new Map() })) };
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

function compare(v: number, op: CompareOp, limit: number): boolean {
  switch (op) {
    case 'lt':
      return v < limit;
    case 'lte':
      return v <= limit;
    case 'gt':
      return v > limit;
    default:
      return v >= limit;
  }
}

/** Event time: `ts` as epoch ms or RFC 3339, else when the batch was received. */
export function eventTime(ts: CelValue, receivedAt: number): number {
  if (typeof ts === 'number') return ts;
  if (typeof ts === 'string') {
    const t = parseRfc3339(ts);
    return Number.isNaN(t) ? receivedAt : t;
  }
  return receivedAt;
}

/**
 * Folds one batch into `out` for the generations `include` accepts. Returns the events scanned.
 * `include` is asked once per generation per batch (live: after its start position; backfill: up
 * to it), so the per-event loop only walks generations that count this batch. With the plan's
 * index (the default), an event is tested only against the generations its attribute values can
 * match, and an expression several generations share is evaluated once per event.
 */
export function foldBatch(plan: TenantPlan, batch: LogBatch, include: (gen: CompiledGen) => boolean, out: FoldResult): number {
  return plan.index === null ? foldEveryGen(plan, batch, include, out) : foldIndexed(plan, plan.index, batch, include, out);
}

/** Results of shared expressions for the current event: valid while `stamp[id] === epoch`. */
interface SharedResults {
  epoch: number;
  stamp: Float64Array;
  value: CelValue[];
}

const sharedResults = new WeakMap<TenantPlan, SharedResults>();

function foldIndexed(plan: TenantPlan, index: FoldIndex, batch: LogBatch, include: (gen: CompiledGen) => boolean, out: FoldResult): number {
  const gens = plan.gens;
  const deltas: (GenDelta | undefined)[] = new Array<GenDelta | undefined>(gens.length);
  let included = 0;
  for (let i = 0; i < gens.length; i++) {
    if (include(gens[i]!)) {
      deltas[i] = deltaOf(out, gens[i]!);
      included++;
    }
  }
  if (included === 0) return 0;
  let shared = sharedResults.get(plan);
  if (shared === undefined) {
    shared = { epoch: 0, stamp: new Float64Array(plan.expressions.length), value: new Array<CelValue>(plan.expressions.length) };
    sharedResults.set(plan, shared);
  }
  const expressions = plan.expressions;
  const always = index.always;
  const lookups = index.lookups;
  const events = scanBatch(plan, batch, (record, bucket) => {
    shared.epoch++;
    for (let k = 0; k < always.length; k++) {
      const i = always[k]!;
      const d = deltas[i];
      if (d !== undefined) countShared(gens[i]!, d, record, bucket, expressions, shared);
    }
    for (let l = 0; l < lookups.length; l++) {
      const lookup = lookups[l]!;
      const list = lookup.byValue.get(record[lookup.slot]);
      if (list === undefined) continue;
      for (let k = 0; k < list.length; k++) {
        const i = list[k]!;
        const d = deltas[i];
        if (d !== undefined) countShared(gens[i]!, d, record, bucket, expressions, shared);
      }
    }
  });
  for (const d of deltas) if (d !== undefined) d.events += events;
  return events;
}

function evaluate(id: number, record: CelRecord, expressions: CompiledExpression[], shared: SharedResults): CelValue {
  if (shared.stamp[id] === shared.epoch) return shared.value[id];
  const v = expressions[id]!(record);
  shared.stamp[id] = shared.epoch;
  shared.value[id] = v;
  return v;
}

function countShared(g: CompiledGen, d: GenDelta, record: CelRecord, bucket: number, expressions: CompiledExpression[], shared: SharedResults): void {
  if (g.filterId >= 0 && evaluate(g.filterId, record, expressions, shared) !== true) return;
  if (g.kind === 'ratio') {
    const good = g.goodId >= 0 ? evaluate(g.goodId, record, expressions, shared) === true : evaluate(g.badId, record, expressions, shared) !== true;
    countEvent(g, d, 0, record, bucket, good);
    return;
  }
  countValue(g, d, record, bucket, evaluate(g.valueId, record, expressions, shared));
}

/** Counts an event in one stream: its bucket, and its breakdown combination if the SLO has one. */
function countEvent(g: CompiledGen, d: GenDelta, stream: number, record: CelRecord, bucket: number, good: boolean): void {
  const s = d.streams[stream]!;
  s.all.add(bucket, good);
  if (g.breakdownSlots.length > 0) addCombo(s, g.breakdownSlots, record, bucket, good);
}

/** A threshold SLO's event: good per objective when its value meets the objective's limit. */
function countValue(g: CompiledGen, d: GenDelta, record: CelRecord, bucket: number, v: CelValue): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) return;
  for (let o = 0; o < g.ops.length; o++) countEvent(g, d, o, record, bucket, compare(v, g.ops[o]!, g.limits[o]!));
}

/** Scans a batch's events, calling `each` with the record and its 10 s bucket; returns the count. */
function scanBatch(plan: TenantPlan, batch: LogBatch, each: (record: CelRecord, bucket: number) => void): number {
  const scanner = plan.scanner;
  scanner.reset(batch.data);
  const record: CelRecord = new Array<CelValue>(plan.slots.size);
  const receivedAt = batch.receivedAt;
  let events = 0;
  let lastTs: CelValue = undefined;
  let lastBucket = 0;
  while (scanner.next(record)) {
    events++;
    const ts = record[0];
    // Consecutive events often share a timestamp text; parsing it once per run saves time.
    let bucket: number;
    if (ts === lastTs && ts !== undefined) bucket = lastBucket;
    else {
      const t = eventTime(ts, receivedAt);
      bucket = t - (((t % FINE_MS) + FINE_MS) % FINE_MS);
      lastTs = ts;
      lastBucket = bucket;
    }
    each(record, bucket);
  }
  return events;
}

/** The reference fold: every included generation against every event, nothing shared. */
function foldEveryGen(plan: TenantPlan, batch: LogBatch, include: (gen: CompiledGen) => boolean, out: FoldResult): number {
  const gens: CompiledGen[] = [];
  const deltas: GenDelta[] = [];
  for (const g of plan.gens) {
    if (include(g)) {
      gens.push(g);
      deltas.push(deltaOf(out, g));
    }
  }
  if (gens.length === 0) return 0;
  const events = scanBatch(plan, batch, (record, bucket) => {
    for (let i = 0; i < gens.length; i++) {
      const g = gens[i]!;
      if (g.filter !== null && g.filter(record) !== true) continue;
      const d = deltas[i]!;
      if (g.kind === 'ratio') countEvent(g, d, 0, record, bucket, g.good !== null ? g.good(record) === true : g.bad!(record) !== true);
      else countValue(g, d, record, bucket, g.value!(record));
    }
  });
  for (const d of deltas) d.events += events;
  return events;
}

function addCombo(s: StreamDelta, slots: number[], record: CelRecord, bucket: number, good: boolean): void {
  let level: Map<CelValue, unknown> = s.comboTree;
  const last = slots.length - 1;
  for (let k = 0; k < last; k++) {
    const v = record[slots[k]!];
    let next = level.get(v) as Map<CelValue, unknown> | undefined;
    if (next === undefined) {
      next = new Map();
      level.set(v, next);
    }
    level = next;
  }
  const v = record[slots[last]!];
  let c = level.get(v) as Combo | undefined;
  if (c === undefined) {
    c = { values: slots.map((slot) => breakdownText(record[slot])), cells: new BucketCells() };
    level.set(v, c);
    s.combos.push(c);
  }
  c.cells.add(bucket, good);
}
