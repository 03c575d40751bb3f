/**
 * Folding events into counter deltas: per generation, per counting stream, per 10-second bucket
 * of event time (and per breakdown value combination), good and total. Pure and synchronous: the
 * aggregator and the backfill run it, and the bench measures it alone.
 */
import type { CelRecord } from '../cel/values.js';
import type { LogBatch } from '../log/event-log.js';
import type { CompiledGen, TenantPlan } from './compiled.js';
import { comboOf, type GenDelta } from './fold-cells.js';
import { foldIndexed, type FoldItem } from './fold-indexed.js';
import type { FoldResult, Include } from './fold-result.js';
import { scanBatch } from './fold-scan.js';
import type { CompareOp } from './model.js';

export { BucketCells, breakdownText, type Cell, type Combo, type FoldDeltas, type GenDelta, type StreamDelta } from './fold-cells.js';
export { FoldResult, type Include } from './fold-result.js';
export { eventTime } from './fold-scan.js';
export type { FoldItem } from './fold-indexed.js';

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

/**
 * Events a run of batches folded by `foldBatches` may hold: what the aggregator folds between two
 * yields to the event loop (about 1.5 MB of staged values for the bench's events).
 */
export const FOLD_RUN_EVENTS = 20_000;

/**
 * Folds one batch into `out` for the generations `include` accepts. Returns the events scanned.
 * With the plan's index (the default), an event is tested only against the generations its
 * attribute values can match (fold-indexed.ts); without it (the reference the property tests
 * compare with), every included generation is tested against every event.
 */
export function foldBatch(plan: TenantPlan, batch: LogBatch, include: Include, out: FoldResult): number {
  return foldBatches(plan, [{ batch, include }], out);
}

/**
 * Folds a run of one tenant's batches, each for the generations its `include` accepts; the
 * indexed fold counts the run's events grouped by service (fold-indexed.ts), so a longer run (up
 * to `FOLD_RUN_EVENTS`) is faster than its batches one by one. Returns the events scanned.
 */
export function foldBatches(plan: TenantPlan, items: readonly FoldItem[], out: FoldResult): number {
  if (plan.index !== null) return foldIndexed(plan, plan.index, items, out);
  let events = 0;
  for (const { batch, include } of items) events += foldEveryGen(plan, batch, include, out);
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
