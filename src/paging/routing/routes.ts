/** HTTP routes of alert routing: recent alerts with what paging decided, and a routing dry run. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import type { Clock } from '../../core/clock.js';
import { decodeCursor } from '../../core/page-cursor.js';
import { listPagingAlerts } from './alert-list.js';
import { readSpec, readSpecs } from '../../definitions/read-specs.js';
import { iso, timeParam, timeText } from '../../core/time-input.js';
import type { Store } from '../../store/store.js';
import { groupingKey, matchLabels } from './grouping.js';
import { compileRoutes, routeAlert, type RouteSpec } from './router.js';
import { DEFAULT_PAGE_SEVERITIES, type ServicePaging } from './service-paging.js';
import { pagingSlos, unpagedSloMessage } from './slo-pages.js';
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
          cursor: z.string().max(300).optional().describe('The next_cursor of the previous page: continue after its last alert'),
        })
        .strict(),
      responses: [
        { status: 200, description: 'Alerts, most recently seen first; next_cursor continues after the last one (null on the last page)' },
        { status: 400, description: 'A cursor that is not a next_cursor of this list' },
      ],
      handler: async ({ query, principal }) => {
        const page = await listPagingAlerts(db, principal.tenant, {
          limit: query.limit,
          ...(query.status ? { status: query.status } : {}),
          ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
        });
        return { alerts: page.alerts, next_cursor: page.nextCursor };
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
        const warnings: string[] = [];
        if (!service.escalationPolicy) {
          const specs = new Map<string, unknown>();
          for (const kind of ['AlertPolicy', 'AlertCondition']) for (const d of await readSpecs(db, tenant, kind)) specs.set(`${kind}/${d.name}`, d.spec);
          const slos = pagingSlos(decision.service, service, await readSpecs(db, tenant, 'SLO'), (kind, name) => specs.get(`${kind}/${name}`));
          if (slos.length) warnings.push(unpagedSloMessage(decision.service, slos));
        }
        return {
          service: decision.service,
          route: decision.route,
          grouping_key: groupingKey(decision.service, service.alertGrouping?.by ?? [], labels),
          suppressed_by: suppressed,
          opens_incident: !suppressed && pageSeverities.includes(body.severity),
          escalation_policy: service.escalationPolicy ?? null,
          pages,
          warnings,
          ...(pages ? {} : { reason: suppressed ? `suppressed by ${suppressed}` : !pageSeverities.includes(body.severity) ? `severity ${body.severity} is not one of ${pageSeverities.join(', ')}` : 'the service has no escalation policy' }),
        };
      },
    }),
  ];
}
