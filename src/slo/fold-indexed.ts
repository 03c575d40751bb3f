/**
 * The indexed fold: an event is tested only against the generations its attribute values can
 * match (fold-index.ts), an expression several generations share is evaluated once per event, and
 * counts go into the plan's typed counters (fold-counters.ts).
 *
 * Events are counted grouped by the value of the index's main attribute (the service, in a fleet):
 * a run of batches is scanned first, then its events are counted one group after the other, so a
 * generation's row, counters and filter are loaded once per group instead of once per event. With
 * 10,000 SLOs over 1,000 services an event's generations are otherwise cold in the CPU caches
 * (BENCHMARKS.md, issue 18). Counting is a sum, so the order changes no count.
 */
import type { CelRecord, CelValue, CompiledExpression } from '../cel/values.js';
import type { LogBatch } from '../log/event-log.js';
import type { TenantPlan } from './compiled.js';
import type { PlanCounters } from './fold-counters.js';
import type { FoldIndex, FoldIndexLookup } from './fold-index.js';
import { G_BAD, G_BREAKDOWN, G_FILTER, G_GOOD, G_SLOT, G_STREAMS, G_VALUE, GEN, layoutOf, OP_GT, OP_LT, OP_LTE, type FoldLayout } from './fold-layout.js';
import type { FoldResult, Include } from './fold-result.js';
import { scanBatch } from './fold-scan.js';

export interface FoldItem {
  batch: LogBatch;
  include: Include;
}

/** Events of a run, scanned, before they are counted in groups (reused per plan). */
interface Staged {
  /** Record values, `slots` per event. */
  values: CelValue[];
  buckets: Float64Array;
  /** Per event: its item (for the generations it counts for) and its group. */
  item: Int32Array;
  group: Int32Array;
  order: Int32Array;
}

const staging = new WeakMap<TenantPlan, Staged>();

/** Folds the items' batches; returns the events scanned. */
export function foldIndexed(plan: TenantPlan, index: FoldIndex, items: readonly FoldItem[], out: FoldResult): number {
  const gens = plan.gens;
  if (gens.length === 0) return 0;
  const layout = layoutOf(plan);
  // Only a batch some generations do not count needs a mark per generation: the steady state
  // does no per-batch work over all of them. A batch no generation counts is not scanned.
  const masks: (Uint8Array | null)[] = [];
  const batches: LogBatch[] = [];
  for (const { batch, include } of items) {
    const mask = include === 'all' ? null : marks(plan, include);
    if (mask === undefined) continue;
    masks.push(mask);
    batches.push(batch);
  }
  if (batches.length === 0) return 0;
  const counters = out.countersOf(plan, layout);
  const width = plan.slots.size;
  const main = mainLookup(index);
  const groups = new Map<CelValue, number>();
  let st = staging.get(plan);
  if (st === undefined) staging.set(plan, (st = { values: [], buckets: new Float64Array(1024), item: new Int32Array(1024), group: new Int32Array(1024), order: new Int32Array(1024) }));
  const staged = st;
  let n = 0;
  let scanned = 0;
  batches.forEach((batch, j) => {
    const events = scanBatch(plan, batch, (record, bucket) => {
      if (n === staged.buckets.length) grow(staged);
      const base = n * width;
      for (let k = 0; k < width; k++) staged.values[base + k] = record[k];
      staged.buckets[n] = bucket;
      staged.item[n] = j;
      let g = 0;
      if (main !== null) {
        const v = record[main.slot];
        g = groups.get(v) ?? -1;
        if (g < 0) groups.set(v, (g = groups.size));
      }
      staged.group[n] = g;
      n++;
    });
    out.addEvents(plan, layout, events, masks[j]!);
    scanned += events;
  });
  orderByGroup(staged, n, Math.max(1, groups.size));
  countStaged(plan, layout, index, counters, staged, n, masks);
  // Drop the staged values past what a run normally holds, so a large run does not pin them.
  if (staged.values.length > 2 * STAGED_VALUES) staged.values = [];
  return scanned;
}

/** Staged values kept between runs. */
const STAGED_VALUES = 1 << 20;

/** Generations that count a batch (undefined: none). */
function marks(plan: TenantPlan, include: Exclude<Include, 'all'>): Uint8Array | undefined {
  const mask = new Uint8Array(plan.gens.length);
  let any = false;
  for (let i = 0; i < mask.length; i++) {
    if (include(plan.gens[i]!)) {
      mask[i] = 1;
      any = true;
    }
  }
  return any ? mask : undefined;
}

/**
 * The lookup events are grouped by: the one filing the most generations; of equals, the one with
 * fewer values (a coarser group, such as the service whose routes another lookup files).
 */
function mainLookup(index: FoldIndex): FoldIndexLookup | null {
  let best: FoldIndexLookup | null = null;
  let bestFiled = -1;
  for (const l of index.lookups) {
    let filed = 0;
    for (const list of l.byValue.values()) filed += list.length;
    if (filed > bestFiled || (filed === bestFiled && best !== null && l.byValue.size < best.byValue.size)) {
      best = l;
      bestFiled = filed;
    }
  }
  return best;
}

function grow(st: Staged): void {
  const size = st.buckets.length * 2;
  const buckets = new Float64Array(size);
  buckets.set(st.buckets);
  st.buckets = buckets;
  for (const key of ['item', 'group'] as const) {
    const a = new Int32Array(size);
    a.set(st[key]);
    st[key] = a;
  }
  st.order = new Int32Array(size);
}

/** `order[0..n)`: the staged events by group (a counting sort), in scan order within a group. */
function orderByGroup(st: Staged, n: number, groups: number): void {
  const start = new Int32Array(groups + 1);
  for (let e = 0; e < n; e++) start[st.group[e]! + 1] = start[st.group[e]! + 1]! + 1;
  for (let g = 0; g < groups; g++) start[g + 1] = start[g + 1]! + start[g]!;
  for (let e = 0; e < n; e++) {
    const g = st.group[e]!;
    st.order[start[g]!] = e;
    start[g] = start[g]! + 1;
  }
}

function countStaged(plan: TenantPlan, layout: FoldLayout, index: FoldIndex, counters: PlanCounters, st: Staged, n: number, masks: (Uint8Array | null)[]): void {
  const width = plan.slots.size;
  const record: CelRecord = new Array<CelValue>(width);
  const always = index.always;
  const lookups = index.lookups;
  for (let q = 0; q < n; q++) {
    const e = st.order[q]!;
    const base = e * width;
    for (let k = 0; k < width; k++) record[k] = st.values[base + k];
    const bucket = st.buckets[e]!;
    const included = masks[st.item[e]!]!;
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
  }
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
    if (b >= 0) counters.count(counters.comboSlot(slot, layout.breakdowns[b]!, record), bucket, good);
    return;
  }
  const v = numeric(layout, expressions, valueId, record);
  if (v !== v) return;
  const n = rows[r + G_STREAMS]!;
  const breakdown = b >= 0 ? layout.breakdowns[b]! : null;
  for (let k = 0; k < n; k++) {
    const op = layout.ops[slot + k]!;
    const limit = layout.limits[slot + k]!;
    const good = op === OP_LT ? v < limit : op === OP_LTE ? v <= limit : op === OP_GT ? v > limit : v >= limit;
    counters.count(slot + k, bucket, good);
    if (breakdown !== null) counters.count(counters.comboSlot(slot + k, breakdown, record), bucket, good);
  }
}
