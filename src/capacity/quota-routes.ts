/** GET/PUT /v1/capacity/quotas/{tenant}: a tenant's daily volume quota and today's use. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import { assertTenantAccess } from '../auth/routes.js';
import { SYSTEM_TENANT, TENANT_ID, type TenantService } from '../auth/tenants.js';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { DAY_MS } from './forecast.js';
import type { DailyQuotaService, DailyQuotaState } from './daily-quota-service.js';
import './daily-quota-gate.js';
import { dailyQuotaAnswer } from './schemas.js';

const tenantParam = z.object({ tenant: z.string().regex(TENANT_ID, 'must be 1-63 lowercase letters, digits, "-" or "_"') }).strict();
/** Up to a quadrillion events a day: anything larger is a typo. */
export const MAX_EVENTS_PER_DAY = 1e15;
const quotaBody = z
  .object({
    eventsPerDay: z
      .number()
      .int('must be a whole number of events')
      .positive('must be at least 1 (null removes the quota)')
      .max(MAX_EVENTS_PER_DAY, `must be at most ${MAX_EVENTS_PER_DAY}`)
      .nullable()
      .describe('Events per UTC day; null removes the quota.'),
  })
  .strict();

function view(s: DailyQuotaState) {
  return {
    tenant: s.tenant,
    eventsPerDay: s.eventsPerDay,
    day: new Date(s.day).toISOString().slice(0, 10),
    usedToday: s.used,
    remaining: s.eventsPerDay === null ? null : Math.max(0, s.eventsPerDay - s.used),
    utilisation: s.eventsPerDay === null ? null : s.used / s.eventsPerDay,
    resetsAt: new Date(s.day + DAY_MS).toISOString(),
  };
}

export function quotaRoutes(deps: { quotas: DailyQuotaService; tenants: TenantService; clock: Clock; bus: Bus }): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/capacity/quotas/:tenant',
      summary: "A tenant's daily volume quota and what it used today",
      description:
        '`usedToday` counts events leased by ingest instances (charged when leased, given back when unused after a second), so it can run ahead of the events stored by up to one lease per instance.',
      tags: ['capacity'],
      permission: 'capacity:read',
      params: tenantParam,
      responses: [
        { status: 200, description: 'The quota', schema: dailyQuotaAnswer },
        { status: 404, description: 'No such tenant' },
      ],
      handler: async ({ params, principal }) => {
        assertTenantAccess(principal, params.tenant);
        if (!(await deps.tenants.get(params.tenant))) throw new KeelError('not_found', `tenant "${params.tenant}" not found`);
        return view(await deps.quotas.state(params.tenant, deps.clock.now()));
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/capacity/quotas/:tenant',
      summary: "Set or remove a tenant's daily volume quota",
      description: 'Applies at once on this instance and within 2 s on the others. Ingest over it answers 429 naming the quota until the next UTC midnight; 80 % and 100 % raise a `capacity` alert.',
      tags: ['capacity'],
      permission: 'tenants:manage',
      audit: 'capacity.daily_quota.set',
      params: tenantParam,
      body: quotaBody,
      responses: [
        { status: 200, description: 'The quota', schema: dailyQuotaAnswer },
        { status: 400, description: 'Invalid quota' },
        { status: 404, description: 'No such tenant' },
      ],
      handler: async ({ params, body, principal, audit }) => {
        if (!principal.superuser) {
          assertTenantAccess(principal, params.tenant);
          throw new KeelError('forbidden', `only admins of the "${SYSTEM_TENANT}" tenant change quotas`);
        }
        if (!(await deps.tenants.get(params.tenant))) throw new KeelError('not_found', `tenant "${params.tenant}" not found`);
        const now = deps.clock.now();
        const before = await deps.quotas.set(params.tenant, body.eventsPerDay, now);
        deps.bus.emit('capacity.daily_quota_changed', { tenant: params.tenant });
        audit({ target: `tenant/${params.tenant}/daily-quota`, tenant: params.tenant, before: { eventsPerDay: before }, after: { eventsPerDay: body.eventsPerDay } });
        return view(await deps.quotas.state(params.tenant, now));
      },
    }),
  ];
}
