/** `GET /v1/compliance/report`: the evidence, as JSON or Markdown. */
import { z } from 'zod';
import { timeParam, timeText } from '../core/time-input.js';
import { SENT, defineRoute, type AnyRoute } from '../api/route.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { reportMarkdown } from './markdown.js';
import { buildReport, type ComplianceDeps } from './report.js';
import { complianceReportSchema } from './schemas.js';

export function complianceRoutes(deps: ComplianceDeps & { clock: Clock }): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/compliance/report',
      summary: 'Compliance evidence: access review, audit chain, encryption, backups, SLOs and incidents',
      description: 'Team admins get their team’s report; admins of the system tenant get every team’s, or one with `tenant`.',
      tags: ['compliance'],
      permission: 'compliance:read',
      query: z
        .object({
          since: timeText.optional().describe('Start of the period: RFC 3339, date, epoch ms, now-24h or a duration back (default 30d)'),
          until: timeText.optional(),
          tenant: z.string().max(63).optional(),
          format: z.enum(['json', 'md']).default('json'),
        })
        .strict(),
      timeoutMs: 600_000,
      // One 200 per status in OpenAPI: the JSON answer is the declared one; format=md sends the same report as text/markdown.
      responses: [{ status: 200, description: 'The report (JSON; Markdown, text/markdown, with format=md)', schema: complianceReportSchema }],
      handler: async ({ query, principal, reply }) => {
        let tenant: string | undefined = principal.tenant;
        if (principal.superuser) tenant = query.tenant;
        else if (query.tenant !== undefined && query.tenant !== principal.tenant) throw new KeelError('not_found', `tenant "${query.tenant}" not found`);
        const now = deps.clock.now();
        const from = timeParam('since', query.since ?? '30d', now, now);
        const to = timeParam('until', query.until, now, now);
        if (from >= to) throw new KeelError('validation_failed', 'since must be before until', { details: [{ path: 'since', message: 'not before until' }] });
        const report = await buildReport(deps, { from, to, ...(tenant !== undefined ? { tenant } : {}) }, principal);
        if (query.format === 'md') {
          void reply.type('text/markdown; charset=utf-8').send(reportMarkdown(report));
          return SENT;
        }
        return report;
      },
    }),
  ];
}
