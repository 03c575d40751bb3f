/** The event attributes an SLO reads: the paths of its CEL expressions and its breakdown, and what a missing one does. */
import { analyzeCel } from '../cel/compile.js';
import type { ResolvedSlo } from './model.js';

export interface AttributeUse {
  path: string[];
  /** What reads it: `total query`, `good query`, `bad query`, `value query`, `filter`, `breakdown`. */
  reader: string;
  /** What the SLO does with events that lack it. */
  consequence: string;
  /** Where in an inline SLO document the reader is written (for plan warnings). */
  field: (string | number)[];
}

const RATIO = ['spec', 'indicator', 'spec', 'ratioMetric'];
const THRESHOLD = ['spec', 'indicator', 'spec', 'thresholdMetric', 'metricSource', 'spec'];

/**
 * Every attribute an SLO reads, once per reader. CEL makes an expression on a missing attribute
 * an error value, so the expression does not match: the consequence depends on which one it is
 * (a `good` query that never matches makes every event bad, the page a typo in it causes).
 */
export function sloAttributeUses(slo: Pick<ResolvedSlo, 'indicator' | 'breakdown'>): AttributeUse[] {
  const ind = slo.indicator;
  const readers: [string | undefined, 'bool' | 'number', Omit<AttributeUse, 'path'>][] =
    ind.kind === 'ratio'
      ? [
          [ind.total, 'bool', { reader: 'total query', consequence: 'the SLO counts no event', field: [...RATIO, 'total', 'metricSource', 'spec', 'query'] }],
          [ind.good, 'bool', { reader: 'good query', consequence: 'every event counts as bad', field: [...RATIO, 'good', 'metricSource', 'spec', 'query'] }],
          [ind.bad, 'bool', { reader: 'bad query', consequence: 'every event counts as good', field: [...RATIO, 'bad', 'metricSource', 'spec', 'query'] }],
        ]
      : [
          [ind.value, 'number', { reader: 'value query', consequence: 'the SLO counts no event', field: [...THRESHOLD, 'query'] }],
          [ind.filter, 'bool', { reader: 'filter', consequence: 'the SLO counts no event', field: [...THRESHOLD, 'filter'] }],
        ];
  const out: AttributeUse[] = [];
  for (const [src, kind, use] of readers) {
    if (src === undefined) continue;
    const r = analyzeCel(src, kind);
    if (r.ok) for (const p of r.analysis.paths) out.push({ path: p, ...use });
  }
  for (const p of slo.breakdown) out.push({ path: p, reader: 'breakdown', consequence: 'every event is shown under (none)', field: ['spec', 'breakdown'] });
  return out;
}
