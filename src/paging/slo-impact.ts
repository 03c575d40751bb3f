/**
 * The SLO engine's answer to "what did this incident cost": for each SLO of the service (each
 * objective), the share of its error budget the bad units inside the incident's time range used,
 * measured against the budget of the SLO window ending when the incident ended:
 *
 *   budgetConsumed = bad units in [from, to) / (units in the SLO window × (1 − target))
 *
 * Units are what the SLO's budgeting method counts (events, or time slices); badEvents are events.
 * The range is widened to the counters' 10-second buckets.
 */
import type { Kysely } from 'kysely';
import type { SloImpact, SloImpactProvider } from '../incidents/slo-impact.js';
import { currentGenerations } from '../slo/generations.js';
import { measureGeneration } from '../slo/measure.js';
import { FINE_MS, floorTo, sloWindowEndingAt, windowEnd } from '../slo/windows.js';
import type { Database } from '../store/schema.js';

export function sloImpactProvider(db: Kysely<Database>): SloImpactProvider {
  return {
    impact: async (tenant, service, from, to) => {
      const start = floorTo(from, FINE_MS);
      const end = windowEnd(Math.max(from, to - 1));
      const out: SloImpact[] = [];
      for (const g of await currentGenerations(db, tenant)) {
        if (g.slo.service !== service) continue;
        const measures = await measureGeneration(db, g, sloWindowEndingAt(g.slo.window, end), end, [end - start]);
        for (const m of measures) {
          const during = m.windows.get(end - start)!;
          const allowed = m.slo.units.total * (1 - m.target);
          const badUnits = during.units.total - during.units.good;
          const objective = g.slo.objectives[m.objective]!;
          out.push({
            slo: g.slo.objectives.length > 1 ? `${g.name} (${objective.name ?? `objective ${m.objective + 1}`})` : g.name,
            budgetConsumed: allowed > 0 ? badUnits / allowed : 0,
            badEvents: during.events.total - during.events.good,
          });
        }
      }
      return out;
    },
  };
}
