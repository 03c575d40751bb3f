/**
 * SLO evidence for the compliance report: for every SLO in scope, its objective, the SLI it
 * attained over the report's period, the error budget that period consumed, and whether it met
 * the objective. Computed from the same counters as `keel slo status`.
 */
import type { Kysely } from 'kysely';
import type { EvidenceScope, EvidenceSection, EvidenceSource } from '../compliance/evidence.js';
import type { Database } from '../store/schema.js';
import { currentGenerations } from './generations.js';
import { budget, sli } from './math.js';
import { measureGeneration } from './measure.js';
import { floorTo, MINUTE } from './windows.js';

const round = (v: number | null, digits: number) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

export function sloEvidence(db: Kysely<Database>): EvidenceSource {
  return {
    collect: async (scope: EvidenceScope): Promise<EvidenceSection> => {
      const gens = await currentGenerations(db, scope.tenant);
      const rows: EvidenceSection['rows'] = [];
      let breached = 0;
      for (const g of gens) {
        // Whole minutes: minute buckets are kept for the SLO window plus three days, 10-second
        // ones only for the alert windows, so minute edges stay exact for older periods too.
        const from = floorTo(scope.from, MINUTE);
        const to = floorTo(scope.to, MINUTE);
        const measures = await measureGeneration(db, g, { start: from, end: to, lengthMs: to - from }, to, []);
        for (const m of measures) {
          const attained = sli(m.slo.units);
          const met = attained === null ? null : attained >= m.target;
          if (met === false) breached++;
          const b = budget(m.slo.units, m.target);
          rows.push({
            tenant: g.tenant,
            slo: g.name,
            service: g.slo.service ?? null,
            objective: g.slo.objectives[m.objective]?.name ?? String(m.objective),
            target: m.target,
            sli_in_period: round(attained, 6),
            met: met,
            budget_consumed_percent: m.slo.units.total > 0 ? round((b.consumed / b.total) * 100, 2) : 0,
            events_good: m.slo.events.good,
            events_total: m.slo.events.total,
          });
        }
      }
      if (rows.length === 0) return { summary: 'no SLOs defined', rows };
      const slos = new Set(rows.map((r) => `${r.tenant}/${r.slo}`)).size;
      return {
        summary: `${slos} SLO(s); ${breached} objective(s) missed in the period`,
        rows,
        ...(rows.some((r) => r.sli_in_period === null) ? { note: 'an SLI of null means no events in the period' } : {}),
      };
    },
  };
}
