/**
 * Folding events into counter deltas: per generation, per counting stream, per 10-second bucket
 * of event time (and per breakdown value combination), good and total. Pure and synchronous: the
 * aggregator and the backfill run it, and the bench measures it alone.
 */
import { parseRfc3339 } from '../core/time.js';
import type { CelRecord, CelValue, CompiledExpression } from '../cel/values.js';
import type { LogBatch } from '../log/event-log.js';
import type { CompiledGen, TenantPlan } from './compiled.js';
import { comboOf, deltaOf, type FoldDeltas, type GenDelta } from './fold-cells.js';
import { PlanCounters } from './fold-counters.js';
import type { FoldIndex } from './fold-index.js';
import { G_BAD, G_BREAKDOWN, G_FILTER, G_GOOD, G_SLOT, G_STREAMS, G_VALUE, GEN, layoutOf, OP_GT, OP_LT, OP_LTE, type FoldLayout } from './fold-layout.js';
import type { CompareOp } from './model.js';
import { FINE_MS } from './windows.js';

export { BucketCells, breakdownText, type Cell, type Combo, type FoldDeltas, type GenDelta, type StreamDelta } from './fold-cells.js';

/**
 * Which generations count a batch: every one (the aggregator's steady state, the bench, `keel
 * verify counts`), or those the function accepts (asked once per generation per batch: live after
 * its backfill's position, backfill up to it).
 */
export type Include = 'all' | ((gen: CompiledGen) => boolean);

/**
 * A fold's result over any number of batches and tenant plans: a `GenDelta` per generation that
 * counted an event, read through `get`/`values` (which first move the indexed fold's counters into
 * them), and the events each generation's fold scanned (`eventsOf`).
 */
export class FoldResult implements FoldDeltas {
  private readonly deltas = new Map<string, GenDelta>();
  /** The indexed fold's counters in use by this result, until it is read. */
  private readonly counters = new Map<TenantPlan, PlanCounters>();
  /** Events scanned per plan: by batches every generation counted, and per generation by the others. */
  private readonly planEvents = new Map<TenantPlan, { layout: FoldLayout; all: number; per: Float64Array | null }>();
  /** Events scanned per generation uid by the reference fold. */
  private readonly scanned = new Map<string, number>();

  get(uid: string): GenDelta | undefined {
    this.settle();
    return this.deltas.get(uid);
  }

  values(): ReturnType<Map<string, GenDelta>['values']> {
    this.settle();
    return this.deltas.values();
  }

  /** Events the fold scanned for a generation (counted or not): what a backfill reports. */
  eventsOf(uid: string): number {
    let n = this.scanned.get(uid) ?? 0;
    for (const e of this.planEvents.values()) {
      const i = e.layout.positions.get(uid);
      if (i !== undefined) n += e.all + (e.per?.[i] ?? 0);
    }
    return n;
  }

  /** The indexed fold's counters of a plan (the plan's spare ones if no other result holds them). */
  countersOf(plan: TenantPlan, layout: FoldLayout): PlanCounters {
    let c = this.counters.get(plan);
    if (c === undefined) {
      c = spareCounters.get(plan);
      if (c === undefined) c = new PlanCounters(plan, layout);
      else spareCounters.delete(plan);
      c.attach(this.deltas);
      this.counters.set(plan, c);
    }
    return c;
  }

  /** Events of a batch of the plan: counted by every generation (`included` null) or by those it marks. */
  addEvents(plan: TenantPlan, layout: FoldLayout, events: number, included: Uint8Array | null): void {
    let e = this.planEvents.get(plan);
    if (e === undefined) this.planEvents.set(plan, (e = { layout, all: 0, per: null }));
    if (included === null) {
      e.all += events;
      return;
    }
    const per = (e.per ??= new Float64Array(included.length));
    for (let i = 0; i < included.length; i++) if (included[i] === 1) per[i] = per[i]! + events;
  }

  /** The reference fold writes its deltas directly. */
  deltaOf(gen: CompiledGen): GenDelta {
    return deltaOf(this.deltas, gen);
  }

  addScanned(uid: string, events: number): void {
    this.scanned.set(uid, (this.scanned.get(uid) ?? 0) + events);
  }

  /** Moves the counters' counts into the deltas and hands the counters back to their plan. */
  private settle(): void {
    if (this.counters.size === 0) return;
    for (const c of this.counters.values()) {
      c.settle();
      c.release();
      spareCounters.set(c.plan, c);
    }
    this.counters.clear();
  }
}

/**
 * Counters a plan's last fold result handed back, reused by the next: their combination ids and
 * series stay (so a transaction does not intern the same combinations again) and their arrays
 * stay warm. At most one spare per plan; dropped with the plan.
 */
const spareCounters = new WeakMap<TenantPlan, PlanCounters>();

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
 * With the plan's index (the default), an event is tested only against the generations its
 * attribute values can match, an expression several generations share is evaluated once per
 * event, and counts go into typed counters (fold-counters.ts); without it (the reference the
 * property tests compare with), every included generation is tested against every event.
 */
export function foldBatch(plan: TenantPlan, batch: LogBatch, include: Include, out: FoldResult): number {
  return plan.index === null ? foldEveryGen(plan, batch, include, out) : foldIndexed(plan, plan.index, batch, include, out);
}

function foldIndexed(plan: TenantPlan, index: FoldIndex, batch: LogBatch, include: Include, out: FoldResult): number {
  const gens = plan.gens;
  // Only a batch some generations do not count needs a mark per generation: the steady state
  // does no per-batch work over all of them.
  let included: Uint8Array | null = null;
  if (include !== 'all') {
    included = new Uint8Array(gens.length);
    let any = false;
    for (let i = 0; i < gens.length; i++) {
      if (include(gens[i]!)) {
        included[i] = 1;
        any = true;
      }
    }
    if (!any) return 0;
  } else if (gens.length === 0) return 0;
  const layout = layoutOf(plan);
  const counters = out.countersOf(plan, layout);
  const always = index.always;
  const lookups = index.lookups;
  const events = scanBatch(plan, batch, (record, bucket) => {
    layout.epoch++;
    for (let k = 0; k < always.length; k++) {
      const i = always[k]!;
      if (included === null || included[i] === 1) countGen(plan, layout, counters, i, record, bucket);
    }
    for (let l = 0; l < lookups.length; l++) {
      const lookup = lookups[l]!;
      const list = lookup.byValue.get(record[lookup.slot]);
      if (list === undefined) continue;
      for (let k = 0; k < list.length; k++) {
        const i = list[k]!;
        if (included === null || included[i] === 1) countGen(plan, layout, counters, i, record, bucket);
      }
    }
  });
  out.addEvents(plan, layout, events, included);
  return events;
}

/** A condition's result for this event: 1 when true, 0 otherwise (false, an error, not a bool). */
function condition(layout: FoldLayout, expressions: CompiledExpression[], id: number, record: CelRecord): number {
  const r = layout.results;
  if (r[2 * id] === layout.epoch) return r[2 * id + 1]!;
  const v = expressions[id]!(record) === true ? 1 : 0;
  r[2 * id] = layout.epoch;
  r[2 * id + 1] = v;
  return v;
}

/** A value's result for this event: the number, or NaN when it is not a finite number. */
function numeric(layout: FoldLayout, expressions: CompiledExpression[], id: number, record: CelRecord): number {
  const r = layout.results;
  if (r[2 * id] === layout.epoch) return r[2 * id + 1]!;
  const x = expressions[id]!(record);
  const v = typeof x === 'number' && Number.isFinite(x) ? x : NaN;
  r[2 * id] = layout.epoch;
  r[2 * id + 1] = v;
  return v;
}

/** The combination id of a breakdown list's values for this event. */
function comboIdOf(layout: FoldLayout, counters: PlanCounters, b: number, record: CelRecord): number {
  const c = layout.combos;
  if (c[2 * b] === layout.epoch) return c[2 * b + 1]!;
  const id = counters.intern(b, record);
  c[2 * b] = layout.epoch;
  c[2 * b + 1] = id;
  return id;
}

/** Generation i against this event: its filter, then good (ratio) or each objective (threshold). */
function countGen(plan: TenantPlan, layout: FoldLayout, counters: PlanCounters, i: number, record: CelRecord, bucket: number): void {
  const rows = layout.rows;
  const r = i * GEN;
  const expressions = plan.expressions;
  const filter = rows[r + G_FILTER]!;
  if (filter >= 0 && condition(layout, expressions, filter, record) !== 1) return;
  const slot = rows[r + G_SLOT]!;
  const b = rows[r + G_BREAKDOWN]!;
  const valueId = rows[r + G_VALUE]!;
  if (valueId < 0) {
    const goodId = rows[r + G_GOOD]!;
    const good = goodId >= 0 ? condition(layout, expressions, goodId, record) === 1 : condition(layout, expressions, rows[r + G_BAD]!, record) !== 1;
    counters.count(slot, bucket, good);
    if (b >= 0) counters.count(counters.comboSlot(slot, comboIdOf(layout, counters, b, record)), bucket, good);
    return;
  }
  const v = numeric(layout, expressions, valueId, record);
  if (v !== v) return;
  const n = rows[r + G_STREAMS]!;
  const combo = b >= 0 ? comboIdOf(layout, counters, b, record) : -1;
  for (let k = 0; k < n; k++) {
    const op = layout.ops[slot + k]!;
    const limit = layout.limits[slot + k]!;
    const good = op === OP_LT ? v < limit : op === OP_LTE ? v <= limit : op === OP_GT ? v > limit : v >= limit;
    counters.count(slot + k, bucket, good);
    if (combo >= 0) counters.count(counters.comboSlot(slot + k, combo), bucket, good);
  }
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
function foldEveryGen(plan: TenantPlan, batch: LogBatch, include: Include, out: FoldResult): number {
  const gens = plan.gens.filter((g) => include === 'all' || include(g));
  if (gens.length === 0) return 0;
  const deltas: (GenDelta | undefined)[] = new Array<GenDelta | undefined>(gens.length);
  const events = scanBatch(plan, batch, (record, bucket) => {
    for (let i = 0; i < gens.length; i++) {
      const g = gens[i]!;
      if (g.filter !== null && g.filter(record) !== true) continue;
      if (g.kind === 'ratio') countEvent(g, (deltas[i] ??= out.deltaOf(g)), 0, record, bucket, g.good !== null ? g.good(record) === true : g.bad!(record) !== true);
      else {
        const v = g.value!(record);
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        const d = (deltas[i] ??= out.deltaOf(g));
        for (let o = 0; o < g.ops.length; o++) countEvent(g, d, o, record, bucket, compare(v, g.ops[o]!, g.limits[o]!));
      }
    }
  });
  for (const g of gens) out.addScanned(g.uid, events);
  return events;
}

/** Counts an event in one stream: its bucket, and its breakdown combination if the SLO has one. */
function countEvent(g: CompiledGen, d: GenDelta, stream: number, record: CelRecord, bucket: number, good: boolean): void {
  const s = d.streams[stream]!;
  s.all.add(bucket, good);
  if (g.breakdownSlots.length > 0) comboOf(s, record, g.breakdownSlots).cells.add(bucket, good);
}
