/**
 * Incident evidence for the compliance report: per tenant, the incidents opened in the period by
 * severity, how many were acknowledged and resolved, MTTA and MTTR (the same figures as
 * `GET /v1/incidents/metrics`), and incidents of SEV1/SEV2 still without a postmortem.
 */
import type { Kysely } from 'kysely';
import type { EvidenceScope, EvidenceSection, EvidenceSource } from '../../compliance/evidence.js';
import type { Database } from '../../store/schema.js';
import { summarise, type IncidentFacts } from './metrics.js';

export function incidentEvidence(db: Kysely<Database>): EvidenceSource {
  return {
    collect: async (scope: EvidenceScope): Promise<EvidenceSection> => {
      let q = db
        .selectFrom('incidents')
        .select(['id', 'tenant_id', 'service', 'severity', 'opened_at', 'acknowledged_at', 'resolved_at'])
        .where('opened_at', '>=', scope.from)
        .where('opened_at', '<', scope.to)
        .orderBy('tenant_id');
      if (scope.tenant) q = q.where('tenant_id', '=', scope.tenant);
      const incidents = await q.execute();
      const ids = incidents.map((i) => i.id);
      const withPostmortem = new Set(ids.length === 0 ? [] : (await db.selectFrom('incident_postmortems').select('incident_id').where('incident_id', 'in', ids).execute()).map((p) => p.incident_id));
      const byTenant = new Map<string, { facts: IncidentFacts[]; open: number; majorWithoutPostmortem: number }>();
      for (const i of incidents) {
        const t = byTenant.get(i.tenant_id) ?? { facts: [], open: 0, majorWithoutPostmortem: 0 };
        t.facts.push({
          service: i.service,
          severity: i.severity,
          openedAt: Number(i.opened_at),
          acknowledgedAt: i.acknowledged_at === null ? null : Number(i.acknowledged_at),
          resolvedAt: i.resolved_at === null ? null : Number(i.resolved_at),
        });
        if (i.resolved_at === null) t.open++;
        if ((i.severity === 'SEV1' || i.severity === 'SEV2') && !withPostmortem.has(i.id)) t.majorWithoutPostmortem++;
        byTenant.set(i.tenant_id, t);
      }
      const rows: EvidenceSection['rows'] = [...byTenant].map(([tenant, t]) => {
        const s = summarise(t.facts);
        return {
          tenant,
          incidents: s.incidents,
          sev1: s.by_severity.SEV1 ?? 0,
          sev2: s.by_severity.SEV2 ?? 0,
          sev3: s.by_severity.SEV3 ?? 0,
          sev4: s.by_severity.SEV4 ?? 0,
          acknowledged: s.acknowledged,
          resolved: s.resolved,
          still_open: t.open,
          mtta_seconds: s.mtta_seconds,
          mttr_seconds: s.mttr_seconds,
          sev1_sev2_without_postmortem: t.majorWithoutPostmortem,
        };
      });
      if (rows.length === 0) return { summary: 'no incidents in the period', rows };
      const all = summarise([...byTenant.values()].flatMap((t) => t.facts));
      const missing = rows.reduce((n, r) => n + Number(r.sev1_sev2_without_postmortem), 0);
      const fmt = (s: number | null) => (s === null ? 'n/a' : `${Math.round(s)} s`);
      return {
        summary: `${all.incidents} incident(s) (SEV1 ${all.by_severity.SEV1}, SEV2 ${all.by_severity.SEV2}, SEV3 ${all.by_severity.SEV3}, SEV4 ${all.by_severity.SEV4}); MTTA ${fmt(all.mtta_seconds)}, MTTR ${fmt(all.mttr_seconds)}${missing ? `; ${missing} SEV1/SEV2 without a postmortem` : ''}`,
        rows,
        note: 'MTTA over acknowledged incidents, MTTR over resolved ones, both over incidents opened in the period',
      };
    },
  };
}
