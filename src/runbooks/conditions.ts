/**
 * CEL conditions of runbooks (condition steps over params and step outputs; waits and verify over
 * live SLO and limit figures), compiled with Keel's CEL compiler (src/cel). Pure: values are passed in.
 */
import { AttributeSlots } from '../cel/attribute-slots.js';
import { analyzeCel, compileCel } from '../cel/compile.js';
import type { CelValue } from '../cel/values.js';
import { lookup } from './templates.js';

/** Evaluates `source` over `values` (a nested object read by dotted paths); only `true` holds. */
export function holds(source: string, values: Record<string, unknown>): boolean {
  const slots = new AttributeSlots();
  const fn = compileCel(source, 'bool', slots);
  const record: CelValue[] = slots.paths.map((p) => celValue(lookup(values, p)));
  return fn(record) === true;
}

/**
 * The names a wait or verify condition reads under `root`: SLOs (`slo["checkout"].burn_rate` →
 * checkout) or limits (`limits["log.disk"].utilisation` → log.disk).
 */
export function figureNames(source: string, root: 'slo' | 'limits'): string[] {
  const r = analyzeCel(source, 'bool');
  if (!r.ok) return [];
  return [...new Set(r.analysis.paths.filter((p) => p[0] === root && p.length === 3).map((p) => p[1]!))];
}

function celValue(v: unknown): CelValue {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  return undefined;
}
