/**
 * A tenant's SLO generations compiled for the fold: every CEL expression compiled against one
 * attribute layout, and a scanner that extracts exactly the attributes they read.
 */
import { AttributeSlots } from '../cel/attribute-slots.js';
import { compileCel } from '../cel/compile.js';
import type { CompiledExpression } from '../cel/values.js';
import { buildFoldIndex, type FoldIndex } from './fold-index.js';
import { EventScanner } from './event-scanner.js';
import type { CompareOp, ResolvedSlo } from './model.js';

export interface CompiledGen {
  uid: string;
  tenant: string;
  slo: ResolvedSlo;
  kind: 'ratio' | 'threshold';
  /** Which events count (ratio: total; threshold: the optional filter). */
  filter: CompiledExpression | null;
  good: CompiledExpression | null;
  bad: CompiledExpression | null;
  value: CompiledExpression | null;
  /** Threshold objectives: (op, value) per objective. */
  ops: CompareOp[];
  limits: number[];
  /** Counting streams: 1 for a ratio SLI (every objective counts the same), one per objective otherwise. */
  streams: number;
  breakdownSlots: number[];
  /** Ids of the expressions above in the tenant's `ExpressionCache` (-1: none), for sharing results per event. */
  filterId: number;
  goodId: number;
  badId: number;
  valueId: number;
}

export interface TenantPlan {
  tenant: string;
  slots: AttributeSlots;
  scanner: EventScanner;
  gens: CompiledGen[];
  /** Which generations an event can match, by its attribute values; null tests every one. */
  index: FoldIndex | null;
  /** Every distinct compiled expression of the tenant, by id (see `ExpressionCache`). */
  expressions: CompiledExpression[];
}

export interface PlanOptions {
  /** Build the predicate index (default). Off, every event is tested against every generation. */
  index?: boolean;
}

/**
 * Compiles expressions once per tenant: SLOs that share a filter (the same service's availability
 * and latency, or one filter with several thresholds) share one function, which the fold then
 * evaluates once per event for all of them.
 */
export class ExpressionCache {
  private readonly byKey = new Map<string, number>();
  /** Every distinct expression, by id. */
  readonly expressions: CompiledExpression[] = [];
  constructor(readonly slots: AttributeSlots) {}

  /** The expression's id (-1 for none). */
  idOf(source: string | undefined, kind: 'bool' | 'number'): number {
    if (source === undefined) return -1;
    const key = `${kind}\u0000${source}`;
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.expressions.length;
      this.expressions.push(compileCel(source, kind, this.slots));
      this.byKey.set(key, id);
    }
    return id;
  }
}

export function compileGen(uid: string, tenant: string, slo: ResolvedSlo, slots: AttributeSlots | ExpressionCache): CompiledGen {
  const ind = slo.indicator;
  const cache = slots instanceof ExpressionCache ? slots : new ExpressionCache(slots);
  slots = cache.slots;
  const threshold = ind.kind === 'threshold';
  const filterId = cache.idOf(ind.kind === 'ratio' ? ind.total : ind.filter, 'bool');
  const goodId = cache.idOf(ind.kind === 'ratio' ? ind.good : undefined, 'bool');
  const badId = cache.idOf(ind.kind === 'ratio' ? ind.bad : undefined, 'bool');
  const valueId = cache.idOf(ind.kind === 'threshold' ? ind.value : undefined, 'number');
  const fn = (id: number) => (id < 0 ? null : cache.expressions[id]!);
  return {
    uid,
    tenant,
    slo,
    kind: ind.kind,
    filter: fn(filterId),
    good: fn(goodId),
    bad: fn(badId),
    value: fn(valueId),
    filterId,
    goodId,
    badId,
    valueId,
    ops: threshold ? slo.objectives.map((o) => o.op ?? 'lte') : [],
    limits: threshold ? slo.objectives.map((o) => o.value ?? 0) : [],
    streams: threshold ? slo.objectives.length : 1,
    breakdownSlots: slo.breakdown.map((p) => slots.slot(p)),
  };
}

export function compileTenantPlan(tenant: string, gens: { uid: string; slo: ResolvedSlo }[], options: PlanOptions = {}): TenantPlan {
  const slots = new AttributeSlots();
  const cache = new ExpressionCache(slots);
  const compiled = gens.map((g) => compileGen(g.uid, tenant, g.slo, cache));
  const index =
    options.index === false
      ? null
      : buildFoldIndex(
          compiled.map((g) => filterSource(g.slo)),
          slots,
        );
  return { tenant, slots, scanner: new EventScanner(slots.paths, 'bytes', !slots.tsReferenced), gens: compiled, index, expressions: cache.expressions };
}

/** The expression that decides whether an event counts at all (ratio: total; threshold: filter). */
function filterSource(slo: ResolvedSlo): string | undefined {
  return slo.indicator.kind === 'ratio' ? slo.indicator.total : slo.indicator.filter;
}

/** Which counting stream an objective reads. */
export const streamOf = (gen: { kind: 'ratio' | 'threshold' }, objective: number): number => (gen.kind === 'ratio' ? 0 : objective);
