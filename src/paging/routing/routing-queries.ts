/**
 * Routing's reads for its routes: the alerts paging saw, and the dry run of where an alert would
 * go (the same route, suppression and paging decisions the consumer makes, without writing).
 */
import type { Db } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import { readSpec, readSpecs } from '../../definitions/read-specs.js';
import type { PageKey } from '../../core/page-cursor.js';
import { listPagingAlerts } from './alert-list.js';
import { groupingKey, matchLabels } from './grouping.js';
import { compileRoutes, routeAlert, type RouteSpec } from './router.js';
import { DEFAULT_PAGE_SEVERITIES, type ServicePaging } from './service-paging.js';
import { pagingSlos, unpagedSloMessage } from './slo-pages.js';
import { suppressedBy, type MaintenanceWindowSpec, type SilenceSpec } from './suppression.js';

/** An alert as the dry run takes it (the route's body, defaults applied). */
export interface RouteTestInput {
  labels: Record<string, string>;
  service?: string | undefined;
  severity: string;
  source: string;
}

export class RoutingQueries {
  constructor(private readonly store: Store) {}

  /** Recent alerts of a tenant and what paging did with them, most recently seen first. */
  alerts(tenant: string, o: { limit: number; status?: 'firing' | 'resolved'; after?: PageKey }) {
    return listPagingAlerts(this.store.db, tenant, o);
  }

  /** Where an alert with these labels would go at `at`, whether it would page, and what suppresses it. */
  async routeTest(tenant: string, input: RouteTestInput, at: number) {
    const db: Db = this.store.db;
    const alert = { labels: input.labels, source: input.source, severity: input.severity, service: input.service ?? null };
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
    const pages = !suppressed && pageSeverities.includes(input.severity) && Boolean(service.escalationPolicy);
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
      opens_incident: !suppressed && pageSeverities.includes(input.severity),
      escalation_policy: service.escalationPolicy ?? null,
      pages,
      warnings,
      ...(pages
        ? {}
        : {
            reason: suppressed
              ? `suppressed by ${suppressed}`
              : !pageSeverities.includes(input.severity)
                ? `severity ${input.severity} is not one of ${pageSeverities.join(', ')}`
                : 'the service has no escalation policy',
          }),
    };
  }
}
