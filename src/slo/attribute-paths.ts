/** The event attributes an SLO reads: the paths of its CEL expressions and its breakdown. */
import { analyzeCel } from '../cel/compile.js';
import type { ResolvedSlo } from './model.js';

export function sloAttributePaths(slo: Pick<ResolvedSlo, 'indicator' | 'breakdown'>): string[][] {
  const ind = slo.indicator;
  const exprs: [string | undefined, 'bool' | 'number'][] =
    ind.kind === 'ratio' ? [[ind.total, 'bool'], [ind.good, 'bool'], [ind.bad, 'bool']] : [[ind.value, 'number'], [ind.filter, 'bool']];
  const out = new Map<string, string[]>();
  for (const [src, kind] of exprs) {
    if (src === undefined) continue;
    const r = analyzeCel(src, kind);
    if (r.ok) for (const p of r.analysis.paths) out.set(p.join('\u0000'), p);
  }
  for (const p of slo.breakdown) out.set(p.join('\u0000'), p);
  return [...out.values()];
}
