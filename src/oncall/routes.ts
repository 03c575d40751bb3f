/** HTTP routes of on-call: who is on call, shifts in a range, overrides, iCalendar feeds. */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SENT, defineRoute, type AnyRoute } from '../api/route.js';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Store } from '../store/store.js';
import { bearerOf } from './bearer.js';
import { Directory, type Person } from './directory.js';
import { hashFeedToken, newFeedToken, renderIcal } from './ical.js';
import type { OncallService, PersonShift } from './oncall-service.js';
import { iso, timeParam, timeText } from '../core/time-input.js';

export interface OncallRouteDeps {
  store: Store;
  clock: Clock;
  oncall: OncallService;
  keys: ApiKeyService;
  publicUrl(): string;
}

const DAY = 86_400_000;

export function personView(p: Person) {
  return { handle: p.handle, user_id: p.id, email: p.email, name: p.name };
}

function shiftView(s: PersonShift) {
  return { user: personView(s.person), start: iso(s.start), end: iso(s.end), source: s.source, schedule: s.schedule };
}

const rangeQuery = z
  .object({
    at: timeText.optional().describe('Start (RFC 3339, date, epoch ms, now-24h or 7d); default now'),
    until: timeText.optional().describe('End (RFC 3339, date, epoch ms, now-24h or 7d); default 7 days after `at`; at most 366 days'),
  })
  .strict();

const feedQuery = z
  .object({
    token: z.string().max(200).optional().describe('Feed token (calendar apps send no headers); an API key with oncall:read works too'),
    past_days: z.coerce.number().int().min(0).max(366).default(14),
    future_days: z.coerce.number().int().min(1).max(366).default(90),
  })
  .strict();

export function oncallRoutes(deps: OncallRouteDeps): AnyRoute[] {
  const { store, clock, oncall, keys } = deps;
  const db = store.db;

  async function person(tenant: string, ref: string): Promise<Person> {
    const p = await (await Directory.load(db, tenant)).resolve(db, ref);
    if (!p) throw new KeelError('not_found', `user "${ref}" not found (a User name, email or user id)`);
    return p;
  }

  /** Tenant of a feed request: by its token, or by an API key with oncall:read. */
  async function feedTenant(request: FastifyRequest, token: string | undefined, kind: 'schedule' | 'user', target: (tenant: string) => Promise<string>): Promise<string> {
    if (token) {
      const row = await db.selectFrom('ical_feeds').selectAll().where('token_hash', '=', hashFeedToken(token)).executeTakeFirst();
      if (!row || row.revoked_at !== null) throw new KeelError('unauthorized', 'unknown or revoked feed token');
      if (row.kind !== kind || row.target !== (await target(row.tenant_id))) throw new KeelError('forbidden', 'this feed token is for another calendar');
      return row.tenant_id;
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

  const createFeed = async (tenant: string, kind: 'schedule' | 'user', target: string, actor: string) => {
    const { token, hash } = newFeedToken();
    const id = newId('feed');
    await db.insertInto('ical_feeds').values({ id, token_hash: hash, tenant_id: tenant, kind, target, created_at: clock.now(), created_by: actor, revoked_at: null }).execute();
    return { id, token };
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/oncall',
      summary: 'Who is on call now (or at `at`) in every schedule, or in one',
      tags: ['oncall'],
      permission: 'oncall:read',
      query: z.object({ at: z.string().optional(), schedule: z.string().max(200).optional() }).strict(),
      responses: [{ status: 200, description: 'On call per schedule, until when' }],
      handler: async ({ query, principal }) => {
        const at = timeParam('at', query.at, clock.now(), clock.now());
        const names = query.schedule ? [query.schedule] : await oncall.scheduleNames(db, principal.tenant);
        const out = [];
        for (const name of names) {
          const { shifts } = await oncall.segments(principal.tenant, name, at, at + 31 * DAY);
          const now = shifts[0] && shifts[0].start <= at ? shifts[0] : undefined;
          const next = shifts.find((s) => s.start > at);
          out.push({
            schedule: name,
            at: iso(at),
            on_call: now ? personView(now.person) : null,
            source: now?.source ?? null,
            until: now ? iso(now.end) : null,
            next: next ? { user: personView(next.person), start: iso(next.start) } : null,
          });
        }
        return { oncall: out };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/schedules/:id/oncall',
      summary: 'Shifts of a schedule between `at` and `until` (DST-correct), and the gaps',
      tags: ['oncall'],
      permission: 'oncall:read',
      params: z.object({ id: z.string().min(1).max(200) }).strict(),
      query: rangeQuery,
      responses: [{ status: 200, description: 'Shifts and gaps' }],
      handler: async ({ params, query, principal }) => {
        const at = timeParam('at', query.at, clock.now(), clock.now());
        const until = timeParam('until', query.until, at + 7 * DAY, clock.now());
        const r = await oncall.segments(principal.tenant, params.id, at, until);
        return { schedule: params.id, time_zone: r.timeZone, at: iso(at), until: iso(until), shifts: r.shifts.map(shiftView), gaps: r.gaps.map((g) => ({ start: iso(g.start), end: iso(g.end) })) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/oncall/users/:id/shifts',
      summary: 'A person’s shifts across every schedule',
      tags: ['oncall'],
      permission: 'oncall:read',
      params: z.object({ id: z.string().min(1).max(320) }).strict(),
      query: rangeQuery,
      responses: [{ status: 200, description: 'Shifts' }],
      handler: async ({ params, query, principal }) => {
        const at = timeParam('at', query.at, clock.now(), clock.now());
        const until = timeParam('until', query.until, at + 7 * DAY, clock.now());
        const p = await person(principal.tenant, params.id);
        return { user: personView(p), at: iso(at), until: iso(until), shifts: (await oncall.shiftsOf(principal.tenant, p, at, until)).map(shiftView) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/schedules/:id/overrides',
      summary: 'Overrides of a schedule (current and future by default)',
      tags: ['oncall'],
      permission: 'oncall:read',
      params: z.object({ id: z.string().min(1).max(200) }).strict(),
      query: z.object({ all: z.enum(['true', 'false']).optional() }).strict(),
      responses: [{ status: 200, description: 'Overrides' }],
      handler: async ({ params, query, principal }) => {
        await oncall.schedule(db, principal.tenant, params.id);
        const list = await oncall.overrides(principal.tenant, params.id, query.all === 'true' ? undefined : clock.now());
        const directory = await Directory.load(db, principal.tenant);
        return {
          overrides: await Promise.all(
            list.map(async (o) => {
              const p = await directory.resolve(db, o.userId);
              return { id: o.id, user: p ? personView(p) : { user_id: o.userId }, start: iso(o.start), end: iso(o.end), created_at: iso(o.createdAt), created_by: o.createdBy };
            }),
          ),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/schedules/:id/overrides',
      summary: 'Override a schedule: someone covers a time range (wins over every layer)',
      tags: ['oncall'],
      permission: 'paging:write',
      audit: 'oncall.override.create',
      params: z.object({ id: z.string().min(1).max(200) }).strict(),
      body: z.object({ user: z.string().min(1).max(320).describe('User name, email or user id'), start: timeText, end: timeText }).strict(),
      responses: [{ status: 201, description: 'The override' }],
      handler: async ({ params, body, principal, audit }) => {
        const p = await person(principal.tenant, body.user);
        if (!p.id) throw new KeelError('validation_failed', `user: "${body.user}" has no user record yet`, { details: [{ path: 'user', message: 'unknown user' }] });
        const start = timeParam('start', body.start, NaN, clock.now());
        const end = timeParam('end', body.end, NaN, clock.now());
        const o = await oncall.addOverride(principal.tenant, params.id, p.id, start, end, principal.actor);
        const view = { id: o.id, schedule: o.schedule, user: personView(p), start: iso(o.start), end: iso(o.end), created_at: iso(o.createdAt), created_by: o.createdBy };
        audit({ target: `schedule/${params.id}/override/${o.id}`, after: view });
        return view;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/schedules/:id/overrides/:override',
      summary: 'Remove an override',
      tags: ['oncall'],
      permission: 'paging:write',
      audit: 'oncall.override.delete',
      params: z.object({ id: z.string().min(1).max(200), override: z.string().min(1).max(100) }).strict(),
      responses: [{ status: 200, description: 'The removed override' }],
      handler: async ({ params, principal, audit }) => {
        const o = await oncall.removeOverride(principal.tenant, params.id, params.override);
        audit({ target: `schedule/${params.id}/override/${o.id}`, before: o });
        return { id: o.id, user_id: o.userId, start: iso(o.start), end: iso(o.end) };
      },
    }),
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
        const r = await oncall.segments(tenant, params.id, now - query.past_days * DAY, now + query.future_days * DAY);
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
          resolved = await person(t, params.id);
          return resolved.id ?? resolved.email;
        });
        const p = resolved ?? (await person(tenant, params.id));
        const now = clock.now();
        return sendIcal(reply, `On call: ${p.name}`, await oncall.shiftsOf(tenant, p, now - query.past_days * DAY, now + query.future_days * DAY));
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
      responses: [{ status: 201, description: 'The feed URL' }],
      handler: async ({ params, principal, audit }) => {
        await oncall.schedule(db, principal.tenant, params.id);
        const { id, token } = await createFeed(principal.tenant, 'schedule', params.id, principal.actor);
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
      responses: [{ status: 201, description: 'The feed URL' }],
      handler: async ({ params, principal, audit }) => {
        const p = await person(principal.tenant, params.id);
        const target = p.id ?? p.email;
        const { id, token } = await createFeed(principal.tenant, 'user', target, principal.actor);
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
      responses: [{ status: 200, description: 'Feeds' }],
      handler: async ({ principal }) => {
        const rows = await db.selectFrom('ical_feeds').selectAll().where('tenant_id', '=', principal.tenant).where('revoked_at', 'is', null).orderBy('created_at').execute();
        return { feeds: rows.map((r) => ({ id: r.id, kind: r.kind, target: r.target, created_at: iso(Number(r.created_at)), created_by: r.created_by })) };
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
      responses: [{ status: 200, description: 'Revoked' }],
      handler: async ({ params, principal, audit }) => {
        const r = await db.updateTable('ical_feeds').set({ revoked_at: clock.now() }).where('tenant_id', '=', principal.tenant).where('id', '=', params.id).where('revoked_at', 'is', null).executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) throw new KeelError('not_found', `feed ${params.id} not found`);
        audit({ target: `ical-feed/${params.id}` });
        return { revoked: params.id };
      },
    }),
  ];
}
