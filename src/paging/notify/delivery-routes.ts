/**
 * HTTP routes of who was paged: an incident's deliveries (channel, status, attempts with status
 * codes and latency), and the triggered incidents that paged a person (the console's "waiting for
 * your acknowledgement").
 */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import { fieldError } from '../../core/errors.js';
import { iso } from '../../core/time-input.js';
import { incidentListSchema } from '../incidents/schemas.js';
import { incidentView } from '../incidents/views.js';
import type { NotifyRouteDeps } from './route-deps.js';
import { deliveriesSchema } from './schemas.js';

export function deliveryRoutes({ queries, notify }: Pick<NotifyRouteDeps, 'queries' | 'notify'>): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/waiting-for-me',
      summary: 'Triggered incidents that paged a person: the signed-in one, or `user` (for an API key)',
      tags: ['incidents'],
      permission: 'incidents:read',
      query: z.object({ user: z.string().min(1).max(320).optional().describe('User id, email or handle; default: the signed-in person') }).strict(),
      responses: [{ status: 200, description: 'Triggered incidents with a page queued for the person, newest first (`next_cursor` always null: all are listed)', schema: incidentListSchema }],
      handler: async ({ query, principal }) => {
        const ref = query.user ?? (principal.kind === 'user' ? principal.userId : undefined);
        if (ref === undefined) throw fieldError('query.user', 'user is required with an API key (a key is nobody to page): name the person by user id, email or handle');
        const person = await queries.linkPerson(principal.tenant, ref);
        if (!person) throw fieldError('query.user', `no person "${ref}" in this team`);
        // A person known only by a handle (no account) has no pages queued under a user id.
        const waiting = person.id ? await queries.waitingFor(principal.tenant, person.id) : [];
        return { incidents: waiting.map(incidentView), next_cursor: null };
      },
    }),
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
