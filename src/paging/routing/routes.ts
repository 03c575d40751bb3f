/** HTTP routes of alert routing: recent alerts with what paging decided, and a routing dry run. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import type { Clock } from '../../core/clock.js';
import { decodeCursor } from '../../core/page-cursor.js';
import { iso, timeParam, timeText } from '../../core/time-input.js';
import type { RoutingQueries } from './routing-queries.js';
import { pagingAlertListSchema } from './schemas.js';

export function routingRoutes(deps: { queries: RoutingQueries; clock: Clock }): AnyRoute[] {
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
        { status: 200, description: 'Alerts, most recently seen first; next_cursor continues after the last one (null on the last page)', schema: pagingAlertListSchema },
        { status: 400, description: 'A cursor that is not a next_cursor of this list' },
      ],
      handler: async ({ query, principal }) => {
        const page = await deps.queries.alerts(principal.tenant, {
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
        const at = timeParam('at', body.at, deps.clock.now(), deps.clock.now());
        return deps.queries.routeTest(principal.tenant, body, at);
      },
    }),
  ];
}
