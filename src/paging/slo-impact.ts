/**
 * The SLO engine's answer to "what did this incident cost": for each SLO of the service (each
 * objective), the share of its error budget the bad units of the incident used, measured against
 * the budget of the SLO window ending when the incident ended:
 *
 *   budgetConsumed = bad units in [start, to) / (units in the SLO window × (1 − target))
 *
 * A burn-rate page fires only after the burn went on for a while: when a paging SLO alert of this
 * SLO (a severity the Service pages on) is among the incident's alerts, `start` is where the burn
 * that fired it began, the start of the long window of the condition that fired it (the longest,
 * when several were active). Ticket alerts that merely joined the incident do not widen it. Otherwise
 * `start` is the incident's opening. Units are what the SLO's budgeting method counts (events, or
 * time slices); badEvents are events. The range is widened to the counters' 10-second buckets.
 */
import type { Kysely } from 'kysely';
import { readSpec } from '../definitions/read-specs.js';
import type { SloImpact, SloImpactProvider } from './incidents/slo-impact.js';
import { DEFAULT_PAGE_SEVERITIES, type ServicePaging } from './routing/service-paging.js';
import { parseFormattedDuration } from '../slo/durations.js';
import { currentGenerations } from '../slo/generations.js';
import { measureGeneration } from '../slo/measure.js';
import { ceilTo, FINE_MS, floorTo, sloWindowEndingAt } from '../slo/windows.js';
import type { Database } from '../store/schema.js';

interface BurnStart {
  at: number;
  reason: string;
}

/** Per SLO name: where the burn that fired the incident's SLO alerts began. */
async function burnStarts(db: Kysely<Database>, tenant: string, service: string, incidentId: string): Promise<Map<string, BurnStart>> {
  const out = new Map<string, BurnStart>();
  const paging = await readSpec<ServicePaging>(db, tenant, 'Service', service);
  const rows = await db
    .selectFrom('incident_alerts')
    .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
    .innerJoin('alert_transitions', 'alert_transitions.alert_id', 'alerts.id')
    .select(['alerts.labels_json', 'alerts.dedup_key', 'alert_transitions.at', 'alert_transitions.values_json'])
    .where('incident_alerts.incident_id', '=', incidentId)
    .where('alerts.source', '=', 'slo')
    .where('alerts.severity', 'in', paging?.pageSeverities ?? DEFAULT_PAGE_SEVERITIES)
    .where('alert_transitions.status', '=', 'firing')
    .execute();
  for (const r of rows) {
    const slo = (JSON.parse(r.labels_json) as { slo?: unknown }).slo;
    if (typeof slo !== 'string') continue;
    const values = JSON.parse(r.values_json) as { conditions?: { name?: unknown; active?: unknown; longWindow?: unknown }[] };
    let longest: { ms: number; name: string } | undefined;
    for (const c of values.conditions ?? []) {
      const ms = c.active === true ? parseFormattedDuration(c.longWindow) : undefined;
      if (ms !== undefined && (!longest || ms > longest.ms)) longest = { ms, name: String(c.name) };
    }
    if (!longest) continue;
    const at = Number(r.at) - longest.ms;
    const prev = out.get(slo);
    if (!prev || at < prev.at) {
      out.set(slo, { at, reason: `the ${String(values.conditions?.find((c) => c.name === longest.name)?.longWindow)} window of ${longest.name}, which fired ${r.dedup_key}` });
    }
  }
  return out;
}

export function sloImpactProvider(db: Kysely<Database>): SloImpactProvider {
  return {
    impact: async (tenant, service, from, to, incidentId) => {
      const starts = incidentId ? await burnStarts(db, tenant, service, incidentId) : new Map<string, BurnStart>();
      const end = ceilTo(Math.max(from + 1, to), FINE_MS);
      const out: SloImpact[] = [];
      for (const g of await currentGenerations(db, tenant)) {
        if (g.slo.service !== service) continue;
        const burn = starts.get(g.name);
        const begin = burn && burn.at < from ? burn : undefined;
        const start = floorTo(begin?.at ?? from, FINE_MS);
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
            ...(begin ? { from: start, fromReason: begin.reason } : {}),
          });
        }
      }
      return out;
    },
  };
}
