/**
 * Evidence other domains contribute to the compliance report (SLOs, incidents). Each is a small
 * interface; the defaults read what exists today (SLO definitions, alerts) and say plainly what
 * they could not see, so the report never fails for a domain that is not there.
 */
import type { DefinitionsService } from '../definitions/definitions-service.js';
import type { Store } from '../store/store.js';

export interface EvidenceScope {
  /** One tenant, or undefined for every tenant (system admins). */
  tenant?: string;
  from: number;
  to: number;
}

export interface EvidenceSection {
  /** One line an auditor reads first, e.g. "3 SLOs; 1 breached its objective". */
  summary: string;
  /** Rows for a table (same keys in every row). */
  rows: Record<string, string | number | boolean | null>[];
  /** What this section could not cover, if anything. */
  note?: string;
}

export interface EvidenceSource {
  collect(scope: EvidenceScope): Promise<EvidenceSection>;
}

/** SLOs as defined (kind SLO); the SLO engine replaces this with objectives, SLIs and budgets. */
export function definedSlos(store: Store, definitions: DefinitionsService): EvidenceSource {
  return {
    collect: async (scope) => {
      const tenants = scope.tenant ? [scope.tenant] : (await store.db.selectFrom('tenants').select('id').orderBy('id').execute()).map((t) => t.id);
      const rows: EvidenceSection['rows'] = [];
      for (const t of tenants) {
        for (const d of await definitions.list(t, 'SLO')) {
          const spec = d.spec as { objectives?: { target?: number }[]; service?: string };
          rows.push({ tenant: t, slo: d.name, service: spec.service ?? null, target: spec.objectives?.[0]?.target ?? null, version: d.version });
        }
      }
      if (rows.length === 0) return { summary: 'no SLOs defined', rows };
      return { summary: `${rows.length} SLO(s) defined`, rows, note: 'budget and attainment figures come from the SLO engine when it is installed' };
    },
  };
}

/** Alerts opened in the period by severity; the incident module replaces this with incidents, MTTA and MTTR. */
export function alertCounts(store: Store): EvidenceSource {
  return {
    collect: async (scope) => {
      let q = store.db
        .selectFrom('alerts')
        .select(['tenant_id', 'severity', 'status'])
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('first_seen', '>=', scope.from)
        .where('first_seen', '<', scope.to)
        .groupBy(['tenant_id', 'severity', 'status'])
        .orderBy('tenant_id');
      if (scope.tenant) q = q.where('tenant_id', '=', scope.tenant);
      const rows = (await q.execute()).map((r) => ({ tenant: r.tenant_id, severity: r.severity, status: r.status, alerts: Number(r.n) }));
      const total = rows.reduce((s, r) => s + r.alerts, 0);
      return {
        summary: total === 0 ? 'no alerts or incidents in the period' : `${total} alert(s) opened in the period`,
        rows,
        note: 'incident records (timelines, MTTA, MTTR) come from the incident module when it is installed',
      };
    },
  };
}
