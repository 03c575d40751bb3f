/**
 * The facts MTTA/MTTR are computed from (metrics.ts), read from the incidents table: one mapping
 * for the API's metrics and the Prometheus gauges alike.
 */
import type { Db } from '../../store/schema.js';
import { OPEN_STATES } from './incident-service.js';
import type { IncidentFacts } from './metrics.js';

export interface TenantIncidentFacts extends IncidentFacts {
  tenant: string;
}

/** Incidents opened in [from, to) (to: open-ended when omitted), of one tenant and service when given. */
export async function readIncidentFacts(db: Db, filter: { from: number; to?: number; tenant?: string; service?: string }): Promise<TenantIncidentFacts[]> {
  let q = db.selectFrom('incidents').select(['tenant_id', 'service', 'severity', 'opened_at', 'acknowledged_at', 'resolved_at']).where('opened_at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('opened_at', '<', filter.to);
  if (filter.tenant !== undefined) q = q.where('tenant_id', '=', filter.tenant);
  if (filter.service !== undefined) q = q.where('service', '=', filter.service);
  return (await q.execute()).map((r) => ({
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

/** Open incidents counted by tenant, service and severity (the open-incidents gauge). */
export async function openIncidentCounts(db: Db): Promise<{ tenant: string; service: string | null; severity: string; count: number }[]> {
  const rows = await db
    .selectFrom('incidents')
    .select(['tenant_id', 'service', 'severity'])
    .select((eb) => eb.fn.countAll().as('n'))
    .where('state', 'in', [...OPEN_STATES])
    .groupBy(['tenant_id', 'service', 'severity'])
    .execute();
  return rows.map((r) => ({ tenant: r.tenant_id, service: r.service, severity: r.severity, count: Number(r.n) }));
}
