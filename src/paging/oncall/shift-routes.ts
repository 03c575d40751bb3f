/** HTTP routes of who is on call: now (or at a time) per schedule, a schedule's shifts and gaps, a person's shifts. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import type { Clock } from '../../core/clock.js';
import { iso, timeParam, timeText } from '../../core/time-input.js';
import type { OncallService } from './oncall-service.js';
import { personView, shiftView } from './views.js';
import { oncallNowSchema, personShiftsSchema, scheduleShiftsSchema } from './schemas.js';

const DAY = 86_400_000;

const rangeQuery = z
  .object({
    at: timeText.optional().describe('Start (RFC 3339, date, epoch ms, now-24h or 7d); default now'),
    until: timeText.optional().describe('End (RFC 3339, date, epoch ms, now-24h or 7d); default 7 days after `at`; at most 366 days'),
  })
  .strict();

export function shiftRoutes(deps: { clock: Clock; oncall: OncallService }): AnyRoute[] {
  const { clock, oncall } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/oncall',
      summary: 'Who is on call now (or at `at`) in every schedule, or in one',
      tags: ['oncall'],
      permission: 'oncall:read',
      query: z.object({ at: timeText.optional().describe('When (RFC 3339, date, epoch ms, now-24h or 7d); default now'), schedule: z.string().max(200).optional() }).strict(),
      responses: [{ status: 200, description: 'On call per schedule, until when', schema: oncallNowSchema }],
      handler: async ({ query, principal }) => {
        const at = timeParam('at', query.at, clock.now(), clock.now());
        const names = query.schedule ? [query.schedule] : await oncall.scheduleNamesOf(principal.tenant);
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
      responses: [{ status: 200, description: 'Shifts and gaps', schema: scheduleShiftsSchema }],
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
      responses: [{ status: 200, description: 'Shifts', schema: personShiftsSchema }],
      handler: async ({ params, query, principal }) => {
        const at = timeParam('at', query.at, clock.now(), clock.now());
        const until = timeParam('until', query.until, at + 7 * DAY, clock.now());
        const p = await oncall.person(principal.tenant, params.id);
        return { user: personView(p), at: iso(at), until: iso(until), shifts: (await oncall.shiftsOf(principal.tenant, p, at, until)).map(shiftView) };
      },
    }),
  ];
}
