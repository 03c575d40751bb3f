/** HTTP route of an incident's deliveries: channel, status, attempts with status codes and latency. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import { iso } from '../../core/time-input.js';
import type { NotifyRouteDeps } from './route-deps.js';
import { deliveriesSchema } from './schemas.js';

export function deliveryRoutes({ queries, notify }: Pick<NotifyRouteDeps, 'queries' | 'notify'>): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/:id/notifications',
      summary: 'Deliveries of an incident: channel, status, attempts with status codes and latency',
      tags: ['incidents'],
      permission: 'incidents:read',
      params: z.object({ id: z.string().min(1).max(100) }).strict(),
      responses: [{ status: 200, description: 'Deliveries, oldest first', schema: deliveriesSchema }],
      handler: async ({ params, principal }) => {
        const i = await queries.incident(principal.tenant, params.id);
        const jobs = await notify.jobsOf(i.id);
        return {
          notifications: jobs.map((j) => ({
            delivery_id: j.id,
            user_id: j.user_id,
            target: j.target_name,
            channel: j.channel,
            status: j.status,
            attempts: j.attempts,
            escalation: j.pass === null ? null : { pass: j.pass, step: j.step },
            created_at: iso(Number(j.created_at)),
            next_attempt_at: j.status === 'pending' ? iso(Number(j.next_attempt_at)) : null,
            sent_at: iso(j.sent_at === null ? null : Number(j.sent_at)),
            last_status: j.last_status,
            last_error: j.last_error,
            latency_ms: j.latency_ms === null ? null : Number(j.latency_ms),
            attempt_log: j.attempts_list.map((a) => ({ ...a, at: iso(a.at) })),
          })),
        };
      },
    }),
  ];
}
