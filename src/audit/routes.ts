/** HTTP routes of the audit log: read it (auditors), and check its hash chain. */
import { z } from 'zod';
import { timeParam, timeText } from '../core/time-input.js';
import { defineRoute, type AnyRoute } from '../api/route.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import type { AuditQuery } from './audit-query.js';
import { entryView } from './audit-query.js';
import { auditPageSchema, chainResultSchema } from './schemas.js';

const anchor = z
  .string()
  .regex(/^\d+:[0-9a-f]{64}$/, 'must be <seq>:<hash> of an entry remembered earlier')
  .optional()
  .describe('An entry remembered earlier (seq:hash, e.g. the head in a compliance report): catches entries removed from the end');

export function auditRoutes(deps: { query: AuditQuery; clock: Clock }): AnyRoute[] {
  const { query, clock } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/audit',
      summary: 'Audit entries: who changed what, when, from where (oldest first, paged by `after`)',
      description: 'Admins of a team see its entries; admins of the system tenant see every team’s, or one with `tenant`.',
      tags: ['audit'],
      permission: 'audit:read',
      query: z
        .object({
          since: timeText.optional().describe('RFC 3339, date, epoch ms, now-24h or a duration back (24h, 30d)'),
          until: timeText.optional(),
          actor: z.string().max(400).optional(),
          action: z.string().max(100).optional(),
          target: z.string().max(400).optional(),
          tenant: z.string().max(63).optional(),
          after: z.coerce.number().int().min(0).optional().describe('Continue after this sequence number'),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        })
        .strict(),
      responses: [{ status: 200, description: 'A page of entries; `next_after` continues it', schema: auditPageSchema }],
      handler: async ({ query: q, principal }) => {
        let tenant: string | undefined = principal.tenant;
        if (principal.superuser) tenant = q.tenant;
        else if (q.tenant !== undefined && q.tenant !== principal.tenant) throw new KeelError('not_found', `tenant "${q.tenant}" not found`);
        const now = clock.now();
        const since = timeParam('since', q.since, undefined, now);
        const until = timeParam('until', q.until, undefined, now);
        const rows = await query.page({
          limit: q.limit,
          ...(tenant !== undefined ? { tenant } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
          ...(q.actor ? { actor: q.actor } : {}),
          ...(q.action ? { action: q.action } : {}),
          ...(q.target ? { target: q.target } : {}),
          ...(q.after !== undefined ? { after: q.after } : {}),
        });
        const entries = rows.map(entryView);
        return { entries, next_after: entries.length === q.limit ? entries[entries.length - 1]!.seq : null };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/audit/verify',
      summary: 'Check the whole hash chain: names the first entry that was changed, removed or reordered',
      tags: ['audit'],
      permission: 'audit:read',
      query: z.object({ anchor }).strict(),
      timeoutMs: 600_000,
      responses: [{ status: 200, description: '`ok`, entries checked, the head (seq and hash, to remember), the first problem', schema: chainResultSchema }],
      handler: async ({ query: q }) => {
        const a = q.anchor ? { seq: Number(q.anchor.split(':')[0]), hash: q.anchor.split(':')[1]! } : undefined;
        return query.verify(a);
      },
    }),
  ];
}
