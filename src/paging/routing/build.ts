/**
 * The routing part: the leader-only consumer of the alert outbox (routes, silences, maintenance
 * windows, grouping into incidents) and the routes over what it did.
 */
import type { IncidentService } from '../incidents/incident-service.js';
import type { PagingBase, PagingPart } from '../part.js';
import { maintenanceWindowKind, routeKind, silenceKind } from './kinds.js';
import { PagingConsumer } from './paging-consumer.js';
import { routingRoutes } from './routes.js';
import { RoutingQueries } from './routing-queries.js';

export interface RoutingPart extends PagingPart {
  consumer: PagingConsumer;
}

export function buildRouting({ ctx, metrics, newAfterCommit }: PagingBase, deps: { incidents: IncidentService }): RoutingPart {
  const { store, clock, bus, logger } = ctx;
  const consumer = new PagingConsumer({ store, clock, bus, logger, alerts: ctx.alerts, incidents: deps.incidents, metrics, pollIntervalMs: ctx.config.paging.pollInterval, newAfterCommit });
  return {
    consumer,
    kinds: [routeKind(), silenceKind(), maintenanceWindowKind()],
    resources: [
      { kind: 'Route', path: '/v1/alert-routes', tag: 'paging', noun: 'alert route', read: 'paging:read', write: 'paging:write' },
      { kind: 'Silence', path: '/v1/silences', tag: 'paging', noun: 'silence', read: 'paging:read', write: 'paging:write', generatedNamePrefix: 'silence' },
      { kind: 'MaintenanceWindow', path: '/v1/maintenance-windows', tag: 'paging', noun: 'maintenance window', read: 'paging:read', write: 'paging:write', generatedNamePrefix: 'maintenance' },
    ],
    routes: routingRoutes({ queries: new RoutingQueries(store), clock }),
    loops: [consumer],
  };
}
