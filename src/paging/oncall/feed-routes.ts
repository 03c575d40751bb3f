/** HTTP routes of iCalendar feeds: the feeds themselves (token or API key) and their tokens. */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SENT, defineRoute, type AnyRoute } from '../../api/route.js';
import type { ApiKeyService } from '../../auth/api-keys.js';
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import { iso } from '../../core/time-input.js';
import { bearerOf } from './bearer.js';
import type { Person } from './directory.js';
import { renderIcal } from './ical.js';
import type { IcalFeeds } from './ical-feeds.js';
import type { OncallService, PersonShift } from './oncall-service.js';
import { feedListSchema, newFeedSchema, revokedFeedSchema } from './schemas.js';

const DAY = 86_400_000;

const feedQuery = z
  .object({
    token: z.string().max(200).optional().describe('Feed token (calendar apps send no headers); an API key with oncall:read works too'),
    past_days: z.coerce.number().int().min(0).max(366).default(14),
    future_days: z.coerce.number().int().min(1).max(366).default(90),
  })
  .strict();

export function feedRoutes(deps: { clock: Clock; oncall: OncallService; feeds: IcalFeeds; keys: ApiKeyService; publicUrl(): string }): AnyRoute[] {
  const { clock, oncall, feeds, keys } = deps;

  /** Tenant of a feed request: by its token, or by an API key with oncall:read. */
  async function feedTenant(request: FastifyRequest, token: string | undefined, kind: 'schedule' | 'user', target: (tenant: string) => Promise<string>): Promise<string> {
    if (token) {
      const feed = await feeds.byToken(token);
      if (!feed || feed.revoked) throw new KeelError('unauthorized', 'unknown or revoked feed token');
      if (feed.kind !== kind || feed.target !== (await target(feed.tenant))) throw new KeelError('forbidden', 'this feed token is for another calendar');
      return feed.tenant;
    }
    const credential = bearerOf(request.headers);
    if (!credential) throw new KeelError('unauthorized', 'send ?token=<feed token> or "Authorization: Bearer <API key>"');
    const principal = await keys.authenticate(credential);
    if (!principal.permissions.has('oncall:read')) throw new KeelError('forbidden', 'this key lacks the permission oncall:read');
    return principal.tenant;
  }

  function sendIcal(reply: { type(t: string): { send(s: string): unknown }; header(k: string, v: string): unknown }, name: string, shifts: PersonShift[]) {
    reply.header('content-disposition', `inline; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}.ics"`);
    void reply.type('text/calendar; charset=utf-8').send(renderIcal(name, shifts, clock.now()));
    return SENT;
  }

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/schedules/:id/ical',
      summary: 'iCalendar feed of a schedule’s shifts',
      description: 'Public route that authenticates itself: `?token=` (a feed token, for calendar apps that send no headers) or an API key with oncall:read.',
      tags: ['oncall'],
      permission: 'public',
      authenticatesItself: 'a feed token (?token=) or an API key with oncall:read',
      params: z.object({ id: z.string().min(1).max(200) }).strict(),
      query: feedQuery,
      responses: [{ status: 200, description: 'text/calendar', contentType: 'text/calendar' }],
      handler: async ({ params, query, request, reply }) => {
        const tenant = await feedTenant(request, query.token, 'schedule', async () => params.id);
        const now = clock.now();
        const r = await oncall.segments(tenant, params.id, now - query.past_days * DAY, now + query.future_days * DAY, { whole: true });
        return sendIcal(reply, `On call: ${params.id}`, r.shifts);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/oncall/users/:id/ical',
      summary: 'iCalendar feed of one person’s shifts across every schedule',
      description: 'Public route that authenticates itself: `?token=` (a feed token) or an API key with oncall:read.',
      tags: ['oncall'],
      permission: 'public',
      authenticatesItself: 'a feed token (?token=) or an API key with oncall:read',
      params: z.object({ id: z.string().min(1).max(320) }).strict(),
      query: feedQuery,
      responses: [{ status: 200, description: 'text/calendar', contentType: 'text/calendar' }],
      handler: async ({ params, query, request, reply }) => {
        let resolved: Person | undefined;
        const tenant = await feedTenant(request, query.token, 'user', async (t) => {
          resolved = await oncall.person(t, params.id);
          return resolved.id ?? resolved.email;
        });
        const p = resolved ?? (await oncall.person(tenant, params.id));
        const now = clock.now();
        return sendIcal(reply, `On call: ${p.name}`, await oncall.shiftsOf(tenant, p, now - query.past_days * DAY, now + query.future_days * DAY, { whole: true }));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/schedules/:id/ical-feeds',
      summary: 'Create a feed URL (with its token) for a schedule’s calendar; the token is shown once',
      tags: ['oncall'],
      permission: 'paging:write',
      audit: 'oncall.feed.create',
      params: z.object({ id: z.string().min(1).max(200) }).strict(),
      responses: [{ status: 201, description: 'The feed URL', schema: newFeedSchema }],
      handler: async ({ params, principal, audit }) => {
        await oncall.requireSchedule(principal.tenant, params.id);
        const { id, token } = await feeds.create(principal.tenant, 'schedule', params.id, principal.actor);
        audit({ target: `ical-feed/${id}`, after: { kind: 'schedule', target: params.id } });
        return { id, kind: 'schedule', target: params.id, token, url: `${deps.publicUrl()}/v1/schedules/${encodeURIComponent(params.id)}/ical?token=${token}` };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/oncall/users/:id/ical-feeds',
      summary: 'Create a feed URL (with its token) for one person’s on-call calendar; shown once',
      tags: ['oncall'],
      permission: 'paging:write',
      audit: 'oncall.feed.create',
      params: z.object({ id: z.string().min(1).max(320) }).strict(),
      responses: [{ status: 201, description: 'The feed URL', schema: newFeedSchema }],
      handler: async ({ params, principal, audit }) => {
        const p = await oncall.person(principal.tenant, params.id);
        const target = p.id ?? p.email;
        const { id, token } = await feeds.create(principal.tenant, 'user', target, principal.actor);
        audit({ target: `ical-feed/${id}`, after: { kind: 'user', target } });
        return { id, kind: 'user', target, token, url: `${deps.publicUrl()}/v1/oncall/users/${encodeURIComponent(params.id)}/ical?token=${token}` };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/ical-feeds',
      summary: 'Calendar feeds (tokens are never shown again)',
      tags: ['oncall'],
      permission: 'paging:read',
      responses: [{ status: 200, description: 'Feeds', schema: feedListSchema }],
      handler: async ({ principal }) => {
        const list = await feeds.list(principal.tenant);
        return { feeds: list.map((f) => ({ id: f.id, kind: f.kind, target: f.target, created_at: iso(f.createdAt), created_by: f.createdBy })) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/ical-feeds/:id',
      summary: 'Revoke a calendar feed token',
      tags: ['oncall'],
      permission: 'paging:write',
      audit: 'oncall.feed.revoke',
      params: z.object({ id: z.string().min(1).max(100) }).strict(),
      responses: [{ status: 200, description: 'Revoked', schema: revokedFeedSchema }],
      handler: async ({ params, principal, audit }) => {
        await feeds.revoke(principal.tenant, params.id);
        audit({ target: `ical-feed/${params.id}` });
        return { revoked: params.id };
      },
    }),
  ];
}
