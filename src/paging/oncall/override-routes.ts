/** HTTP routes of schedule overrides: someone covers a time range. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import type { Clock } from '../../core/clock.js';
import { fieldError } from '../../core/errors.js';
import { iso, timeParam, timeText } from '../../core/time-input.js';
import type { OncallService } from './oncall-service.js';
import { personView } from './views.js';
import { overrideListSchema, overrideSchema, removedOverrideSchema } from './schemas.js';

export function overrideRoutes(deps: { clock: Clock; oncall: OncallService }): AnyRoute[] {
  const { clock, oncall } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/schedules/:id/overrides',
      summary: 'Overrides of a schedule (current and future by default)',
      tags: ['oncall'],
      permission: 'oncall:read',
      params: z.object({ id: z.string().min(1).max(200) }).strict(),
      query: z.object({ all: z.enum(['true', 'false']).optional() }).strict(),
      responses: [{ status: 200, description: 'Overrides', schema: overrideListSchema }],
      handler: async ({ params, query, principal }) => {
        await oncall.requireSchedule(principal.tenant, params.id);
        const list = await oncall.overrides(principal.tenant, params.id, query.all === 'true' ? undefined : clock.now());
        const people = await oncall.peopleByIds(
          principal.tenant,
          list.map((o) => o.userId),
        );
        return {
          overrides: list.map((o) => {
            const p = people.get(o.userId);
            return { id: o.id, user: p ? personView(p) : { user_id: o.userId }, start: iso(o.start), end: iso(o.end), created_at: iso(o.createdAt), created_by: o.createdBy };
          }),
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
      responses: [{ status: 201, description: 'The override', schema: overrideSchema }],
      handler: async ({ params, body, principal, audit }) => {
        const p = await oncall.person(principal.tenant, body.user);
        if (!p.id) throw fieldError('user', `"${body.user}" has no user record yet`, 'unknown user');
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
      responses: [{ status: 200, description: 'The removed override', schema: removedOverrideSchema }],
      handler: async ({ params, principal, audit }) => {
        const o = await oncall.removeOverride(principal.tenant, params.id, params.override);
        audit({ target: `schedule/${params.id}/override/${o.id}`, before: o });
        return { id: o.id, user_id: o.userId, start: iso(o.start), end: iso(o.end) };
      },
    }),
  ];
}
