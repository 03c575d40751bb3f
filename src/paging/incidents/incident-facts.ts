/**
 * The facts MTTA/MTTR are computed from (metrics.ts), read from the incidents table: one mapping
 * for the API's metrics and the Prometheus gauges alike.
 */
import { prepared } from '../../store/prepared.js';
import type { Db } from '../../store/schema.js';
import { OPEN_STATES_SQL } from './incident-service.js';
import type { IncidentFacts } from './metrics.js';

export interface TenantIncidentFacts extends IncidentFacts {
  tenant: string;
}

/**
 * The query behind `readIncidentFacts` (exported for the test of its plan). Without a tenant (the
 * Prometheus scrape's last 30 days) it reads the window through incidents_opened_at (migration
 * 0850), not the whole history.
 */
export function incidentFactsQuery(db: Db, filter: { from: number; to?: number; tenant?: string; service?: string }) {
  let q = db.selectFrom('incidents').select(['tenant_id', 'service', 'severity', 'opened_at', 'acknowledged_at', 'resolved_at']).where('opened_at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('opened_at', '<', filter.to);
  if (filter.tenant !== undefined) q = q.where('tenant_id', '=', filter.tenant);
  if (filter.service !== undefined) q = q.where('service', '=', filter.service);
  return q;
}

/** Incidents opened in [from, to) (to: open-ended when omitted), of one tenant and service when given. */
export async function readIncidentFacts(db: Db, filter: { from: number; to?: number; tenant?: string; service?: string }): Promise<TenantIncidentFacts[]> {
  return (await incidentFactsQuery(db, filter).execute()).map((r) => ({
    tenant: r.tenant_id,
    service: r.service,
    severity: r.severity,
    openedAt: Number(r.opened_at),
    acknowledgedAt: r.acknowledged_at === null ? null : Number(r.acknowledged_at),
    resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
  }));
}

/** The services of these incidents (id → service, null for none). */
export async function incidentServices(db: Db, ids: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('incidents')
      .select(['id', 'service'])
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.id, r.service);
  }
  return out;
}

/** The services of a tenant's incidents opened in [from, to) (id → service, null for none). */
export async function incidentServicesOpened(db: Db, tenant: string, from: number, to: number): Promise<Map<string, string | null>> {
  const rows = await db.selectFrom('incidents').select(['id', 'service']).where('tenant_id', '=', tenant).where('opened_at', '>=', from).where('opened_at', '<', to).execute();
  return new Map(rows.map((r) => [r.id, r.service]));
}

/**
 * Open incidents counted by tenant, service and severity (the open-incidents gauge, every scrape).
 * The open ones are read through the partial index incidents_open_opened (the states as literals,
 * migration 0820) and counted here: asked to group them, SQLite walked an index of every incident
 * ever opened instead.
 */
export const openIncidentRows = prepared((db) => db.selectFrom('incidents').select(['tenant_id', 'service', 'severity']).where(OPEN_STATES_SQL));

export async function openIncidentCounts(db: Db): Promise<{ tenant: string; service: string | null; severity: string; count: number }[]> {
  const counts = new Map<string, { tenant: string; service: string | null; severity: string; count: number }>();
  for (const r of await openIncidentRows.rows(db, {})) {
    const key = JSON.stringify([r.tenant_id, r.service, r.severity]);
    const c = counts.get(key);
    if (c) c.count++;
    else counts.set(key, { tenant: r.tenant_id, service: r.service, severity: r.severity, count: 1 });
  }
  return [...counts.values()];
}
