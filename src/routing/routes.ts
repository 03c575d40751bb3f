/** HTTP routes of alert routing: recent alerts with what paging decided, and a routing dry run. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import type { Clock } from '../core/clock.js';
import { readSpec, readSpecs } from '../definitions/read-specs.js';
import { iso, timeParam, timeText } from '../core/time-input.js';
import type { Store } from '../store/store.js';
import { groupingKey, matchLabels } from './grouping.js';
import { compileRoutes, routeAlert, type RouteSpec } from './router.js';
import { DEFAULT_PAGE_SEVERITIES, type ServicePaging } from './service-paging.js';
import { suppressedBy, type MaintenanceWindowSpec, type SilenceSpec } from './suppression.js';

export function routingRoutes(deps: { store: Store; clock: Clock }): AnyRoute[] {
  const db = deps.store.db;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/paging/alerts',
      summary: 'Recent alerts and what paging did with them (service, route, incident, suppression)',
      tags: ['paging'],
      permission: 'incidents:read',
      query: z
        .object({
          status: z.enum(['firing', 'resolved']).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        })
        .strict(),
      responses: [{ status: 200, description: 'Alerts, most recently seen first' }],
      handler: async ({ query, principal }) => {
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
          .where('alerts.tenant_id', '=', principal.tenant)
          .orderBy('alerts.last_seen', 'desc')
          .limit(query.limit);
        if (query.status) q = q.where('alerts.status', '=', query.status);
        const rows = await q.execute();
        return {
          alerts: rows.map((r) => ({
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
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/paging/route-test',
      summary: 'Dry run: where would an alert with these labels go, would it page, what suppresses it',
      tags: ['paging'],
      permission: 'paging:read',
      auditExempt: 'a dry run: it changes nothing',
      body: z
        .object({
          labels: z.record(z.string(), z.string()).default({}),
          service: z.string().min(1).max(200).optional(),
          severity: z.string().min(1).max(50).default('critical'),
          source: z.string().min(1).max(50).default('manual'),
          at: timeText.optional(),
        })
        .strict(),
      responses: [{ status: 200, description: 'The decision' }],
      handler: async ({ body, principal }) => {
        const tenant = principal.tenant;
        const at = timeParam('at', body.at, deps.clock.now(), deps.clock.now());
        const alert = { labels: body.labels, source: body.source, severity: body.severity, service: body.service ?? null };
        const decision = routeAlert({ service: alert.service, labels: matchLabels(alert, null) }, compileRoutes(await readSpecs<RouteSpec>(db, tenant, 'Route')));
        if (!decision.service) return { service: null, route: null, pages: false, reason: 'no route matches and there is no default route' };
        const service = await readSpec<ServicePaging>(db, tenant, 'Service', decision.service);
        if (!service) return { service: decision.service, route: decision.route, pages: false, reason: `Service ${decision.service} is not defined` };
        const labels = matchLabels(alert, decision.service);
        const suppressed = suppressedBy(
          { labels, service: decision.service, at },
          await readSpecs<SilenceSpec>(db, tenant, 'Silence'),
          await readSpecs<MaintenanceWindowSpec>(db, tenant, 'MaintenanceWindow'),
        );
        const pageSeverities = service.pageSeverities ?? DEFAULT_PAGE_SEVERITIES;
        const pages = !suppressed && pageSeverities.includes(body.severity) && Boolean(service.escalationPolicy);
        return {
          service: decision.service,
          route: decision.route,
          grouping_key: groupingKey(decision.service, service.alertGrouping?.by ?? [], labels),
          suppressed_by: suppressed,
          opens_incident: !suppressed && pageSeverities.includes(body.severity),
          escalation_policy: service.escalationPolicy ?? null,
          pages,
          ...(pages ? {} : { reason: suppressed ? `suppressed by ${suppressed}` : !pageSeverities.includes(body.severity) ? `severity ${body.severity} is not one of ${pageSeverities.join(', ')}` : 'the service has no escalation policy' }),
        };
      },
    }),
  ];
}
