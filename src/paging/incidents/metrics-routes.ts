/** HTTP route of incident metrics: MTTA, MTTR, incidents by severity, pages per person per week. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import type { Clock } from '../../core/clock.js';
import { fieldError } from '../../core/errors.js';
import { timeParam, timeText } from '../../core/time-input.js';
import type { IncidentQueries } from './incident-queries.js';
import { incidentMetricsSchema } from './schemas.js';

export function incidentMetricsRoutes(deps: { clock: Clock; queries: IncidentQueries }): AnyRoute[] {
  const { clock, queries } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/metrics',
      summary: 'MTTA, MTTR, incidents by severity, pages per person per week',
      tags: ['incidents'],
      permission: 'incidents:read',
      query: z
        .object({
          from: timeText.optional().describe('Start (RFC 3339, date, epoch ms, now-24h or 7d); default 30 days ago'),
          to: timeText.optional().describe('End (RFC 3339, date, epoch ms, now-24h or 7d); default now'),
          service: z.string().max(200).optional(),
        })
        .strict(),
      responses: [{ status: 200, description: 'Metrics over incidents opened in the range', schema: incidentMetricsSchema }],
      handler: async ({ query, principal }) => {
        const now = clock.now();
        const to = timeParam('to', query.to, now, now);
        const from = timeParam('from', query.from, to - 30 * 86_400_000, now);
        if (!(to > from)) throw fieldError('to', 'must be after from');
        return queries.metrics(principal.tenant, from, to, query.service ? query.service : undefined);
      },
    }),
  ];
}
