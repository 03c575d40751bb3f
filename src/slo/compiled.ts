/**
 * A tenant's SLO generations compiled for the fold: every CEL expression compiled against one
 * attribute layout, and a scanner that extracts exactly the attributes they read.
 */
import { AttributeSlots } from '../cel/attribute-slots.js';
import { compileCel } from '../cel/compile.js';
import type { CompiledExpression } from '../cel/values.js';
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
}

export interface TenantPlan {
  tenant: string;
  slots: AttributeSlots;
  scanner: EventScanner;
  gens: CompiledGen[];
}

export function compileGen(uid: string, tenant: string, slo: ResolvedSlo, slots: AttributeSlots): CompiledGen {
  const ind = slo.indicator;
  const c = (src: string | undefined, kind: 'bool' | 'number') => (src === undefined ? null : compileCel(src, kind, slots));
  const threshold = ind.kind === 'threshold';
  return {
    uid,
    tenant,
    slo,
    kind: ind.kind,
    filter: ind.kind === 'ratio' ? c(ind.total, 'bool') : c(ind.filter, 'bool'),
    good: ind.kind === 'ratio' ? c(ind.good, 'bool') : null,
    bad: ind.kind === 'ratio' ? c(ind.bad, 'bool') : null,
    value: ind.kind === 'threshold' ? c(ind.value, 'number') : null,
    ops: threshold ? slo.objectives.map((o) => o.op ?? 'lte') : [],
    limits: threshold ? slo.objectives.map((o) => o.value ?? 0) : [],
    streams: threshold ? slo.objectives.length : 1,
    breakdownSlots: slo.breakdown.map((p) => slots.slot(p)),
  };
}

export function compileTenantPlan(tenant: string, gens: { uid: string; slo: ResolvedSlo }[]): TenantPlan {
  const slots = new AttributeSlots();
  const compiled = gens.map((g) => compileGen(g.uid, tenant, g.slo, slots));
  return { tenant, slots, scanner: new EventScanner(slots.paths, 'bytes', !slots.tsReferenced), gens: compiled };
}

/** Which counting stream an objective reads. */
export const streamOf = (gen: { kind: 'ratio' | 'threshold' }, objective: number): number => (gen.kind === 'ratio' ? 0 : objective);
