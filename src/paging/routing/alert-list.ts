/**
 * The alert list of `GET /v1/paging/alerts`: alerts most recently seen first, with what paging did
 * with each. Keyset pages: the next page starts after the last row's (last_seen, id), which the
 * index alerts_tenant_seen_id serves at any depth (a year of alerts pages in flat time).
 */
import type { Kysely } from 'kysely';
import { iso } from '../../core/time-input.js';
import { encodeCursor, type PageKey } from '../../core/page-cursor.js';
import type { Database } from '../../store/schema.js';

export async function listPagingAlerts(db: Kysely<Database>, tenant: string, o: { limit: number; status?: 'firing' | 'resolved'; after?: PageKey }) {
  let q = db
    .selectFrom('alerts')
    .leftJoin('paging_alerts', 'paging_alerts.alert_id', 'alerts.id')
    .select([
      'alerts.id',
      'alerts.dedup_key',
      'alerts.source',
      'alerts.status',
      'alerts.severity',
      'alerts.summary',
      'alerts.labels_json',
      'alerts.count',
      'alerts.first_seen',
      'alerts.last_seen',
      'alerts.resolved_at',
      'alerts.acknowledged_at',
      'paging_alerts.service',
      'paging_alerts.route',
      'paging_alerts.incident_id',
      'paging_alerts.suppressed_by',
      'paging_alerts.processed_at',
    ])
    .where('alerts.tenant_id', '=', tenant)
    .orderBy('alerts.last_seen', 'desc')
    .orderBy('alerts.id', 'desc')
    .limit(o.limit + 1);
  if (o.status) q = q.where('alerts.status', '=', o.status);
  const after = o.after;
  if (after) {
    const id = String(after.tie);
    // The redundant `last_seen <= at` lets the store seek in the index instead of scanning to it.
    q = q.where('alerts.last_seen', '<=', after.at).where((eb) => eb.or([eb('alerts.last_seen', '<', after.at), eb('alerts.id', '<', id)]));
  }
  const rows = await q.execute();
  const more = rows.length > o.limit;
  const page = more ? rows.slice(0, o.limit) : rows;
  const last = page[page.length - 1];
  return {
    alerts: page.map((r) => ({
      id: r.id,
      dedup_key: r.dedup_key,
      source: r.source,
      status: r.status,
      severity: r.severity,
      summary: r.summary,
      labels: JSON.parse(r.labels_json) as Record<string, string>,
      count: Number(r.count),
      first_seen: iso(Number(r.first_seen)),
      last_seen: iso(Number(r.last_seen)),
      resolved_at: iso(r.resolved_at === null ? null : Number(r.resolved_at)),
      acknowledged_at: iso(r.acknowledged_at === null || r.acknowledged_at === undefined ? null : Number(r.acknowledged_at)),
      paging: r.processed_at === null ? null : { service: r.service, route: r.route, incident_id: r.incident_id, suppressed_by: r.suppressed_by },
    })),
    nextCursor: more && last ? encodeCursor({ at: Number(last.last_seen), tie: last.id }) : null,
  };
}
