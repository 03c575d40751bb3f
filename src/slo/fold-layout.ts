/**
 * A tenant plan laid out for the indexed fold: what the fold reads per generation packed into one
 * typed array (a generation's row is 32 bytes, so testing it loads one cache line instead of
 * following its compiled-generation object, delta, streams and cells), and every counting stream
 * numbered with a dense slot for the fold's counters (fold-counters.ts). With 10,000 SLOs an
 * event's few matching generations are cold in the CPU caches, so how many lines a match touches
 * is what the fold's speed comes down to (BENCHMARKS.md, issue 18).
 */
import type { TenantPlan } from './compiled.js';

/** Int32 fields per generation row. */
export const GEN = 8;
/** Row fields: expression ids (-1: none), the first stream slot, the streams, the breakdown list (-1: none). */
export const G_FILTER = 0;
export const G_GOOD = 1;
export const G_BAD = 2;
export const G_VALUE = 3;
export const G_SLOT = 4;
export const G_STREAMS = 5;
export const G_BREAKDOWN = 6;

/** Threshold comparisons by code (`ops`). */
export const OP_LT = 0;
export const OP_LTE = 1;
export const OP_GT = 2;
export const OP_GTE = 3;

export interface FoldLayout {
  rows: Int32Array;
  /** Counting streams of all generations; slots 0..streams-1. */
  streams: number;
  /** Stream slot → generation position. */
  slotGen: Int32Array;
  /** Per stream slot of a threshold generation: its objective's comparison and limit. */
  ops: Uint8Array;
  limits: Float64Array;
  /** The distinct breakdown attribute lists (record slots), by the rows' G_BREAKDOWN. */
  breakdowns: number[][];
  /** Generation position by uid. */
  positions: Map<string, number>;
  /**
   * Scratch of one event (the fold is synchronous): expression results, valid while
   * `results[2 * id] === epoch`, as 1 (true) / 0 (anything else) for conditions and the number or
   * NaN (not a finite number) for values.
   */
  epoch: number;
  results: Float64Array;
}

const layouts = new WeakMap<TenantPlan, FoldLayout>();

export function layoutOf(plan: TenantPlan): FoldLayout {
  let layout = layouts.get(plan);
  if (layout === undefined) {
    layout = buildLayout(plan);
    layouts.set(plan, layout);
  }
  return layout;
}

function buildLayout(plan: TenantPlan): FoldLayout {
  const gens = plan.gens;
  const rows = new Int32Array(gens.length * GEN);
  const streams = gens.reduce((n, g) => n + g.streams, 0);
  const slotGen = new Int32Array(streams);
  const ops = new Uint8Array(streams);
  const limits = new Float64Array(streams);
  const breakdowns: number[][] = [];
  const breakdownIds = new Map<string, number>();
  let slot = 0;
  gens.forEach((g, i) => {
    const r = i * GEN;
    rows[r + G_FILTER] = g.filterId;
    rows[r + G_GOOD] = g.goodId;
    rows[r + G_BAD] = g.badId;
    rows[r + G_VALUE] = g.valueId;
    rows[r + G_SLOT] = slot;
    rows[r + G_STREAMS] = g.streams;
    let b = -1;
    if (g.breakdownSlots.length > 0) {
      const key = g.breakdownSlots.join(',');
      b = breakdownIds.get(key) ?? -1;
      if (b < 0) {
        b = breakdowns.length;
        breakdowns.push(g.breakdownSlots);
        breakdownIds.set(key, b);
      }
    }
    rows[r + G_BREAKDOWN] = b;
    for (let k = 0; k < g.streams; k++) {
      slotGen[slot + k] = i;
      if (g.kind === 'threshold') {
        const op = g.ops[k];
        ops[slot + k] = op === 'lt' ? OP_LT : op === 'lte' ? OP_LTE : op === 'gt' ? OP_GT : OP_GTE;
        limits[slot + k] = g.limits[k]!;
      }
    }
    slot += g.streams;
  });
  return {
    rows,
    streams,
    slotGen,
    ops,
    limits,
    breakdowns,
    positions: new Map(gens.map((g, i) => [g.uid, i])),
    epoch: 0,
    results: new Float64Array(plan.expressions.length * 2).fill(-1),
  };
}
