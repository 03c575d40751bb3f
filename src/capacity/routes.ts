/** GET /v1/usage: events and bytes per tenant per minute, hour or day. */
import { z } from 'zod';
import { timeParam, timeText } from '../core/time-input.js';
import { defineRoute, type AnyRoute } from '../api/route.js';
import { assertTenantAccess } from '../auth/routes.js';
import { TENANT_ID } from '../auth/tenants.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { bucketCount, STEPS, type Step } from './usage-fold.js';
import type { UsageService } from './usage-service.js';

export const MAX_USAGE_BUCKETS = 10_000;

const usageQuery = z
  .object({
    from: timeText.optional().describe('Start (RFC 3339, date, epoch ms, now-24h or 7d), inclusive; default one hour before `to`.'),
    to: timeText.optional().describe('End (RFC 3339, date, epoch ms, now-24h or 7d), exclusive; default now.'),
    step: z.enum(['minute', 'hour', 'day']).default('minute').describe('Bucket size (UTC).'),
    tenant: z.string().regex(TENANT_ID, 'must be 1-63 lowercase letters, digits, "-" or "_"').optional().describe('One tenant (system admins; others see only their own).'),
  })
  .strict();

const usageAnswer = z.object({
  from: z.string(),
  to: z.string(),
  step: z.enum(['minute', 'hour', 'day']),
  usage: z.array(z.object({ tenant: z.string(), start: z.string(), events: z.number().int(), bytes: z.number().int() })),
  totals: z.array(z.object({ tenant: z.string(), events: z.number().int(), bytes: z.number().int() })),
});

export function usageRoutes(deps: { usage: UsageService; clock: Clock }): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/usage',
      summary: 'Events and bytes received per tenant, per minute, hour or day',
      description:
        'Counted by the `usage` processor from the event log, exactly once, by the time Keel received each batch. A key sees its own tenant; admins of the system tenant see every tenant (or one, with `tenant`).',
      tags: ['capacity'],
      permission: 'usage:read',
      query: usageQuery,
      responses: [
        { status: 200, description: 'Usage buckets and totals', schema: usageAnswer },
        { status: 400, description: 'Invalid range, or more buckets than allowed' },
      ],
      handler: async ({ query, principal }) => {
        const now = deps.clock.now();
        const to = timeParam('to', query.to, now, now);
        const from = timeParam('from', query.from, to - 3_600_000, now);
        if (from >= to) {
          throw new KeelError('validation_failed', '"from" must be before "to"', { details: [{ path: 'from', message: 'must be before to' }] });
        }
        const step: Step = query.step;
        const buckets = bucketCount(from, to, step);
        if (buckets > MAX_USAGE_BUCKETS) {
          throw new KeelError('validation_failed', `that range holds ${buckets} ${step} buckets, more than ${MAX_USAGE_BUCKETS}; narrow it or use a larger step`, {
            details: [{ path: 'step', message: `at most ${MAX_USAGE_BUCKETS} buckets` }],
          });
        }
        let tenant: string | undefined;
        if (query.tenant !== undefined) {
          assertTenantAccess(principal, query.tenant);
          tenant = query.tenant;
        } else if (!principal.superuser) tenant = principal.tenant;
        const q = { from, to, step, ...(tenant !== undefined ? { tenant } : {}) };
        const [usage, totals] = await Promise.all([deps.usage.buckets(q), deps.usage.totals(q)]);
        return {
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          step,
          usage: usage.map((u) => ({ tenant: u.tenant, start: new Date(u.start).toISOString(), events: u.events, bytes: u.bytes })),
          totals,
        };
      },
    }),
  ];
}

export { STEPS };
