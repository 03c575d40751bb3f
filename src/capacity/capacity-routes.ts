/** GET /v1/capacity and /v1/capacity/limits/{id}: every tracked limit, ranked by time to exhaustion. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import type { Principal } from '../auth/principal.js';
import { assertTenantAccess } from '../auth/routes.js';
import { TENANT_ID } from '../auth/tenants.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { timeParam } from '../core/time-input.js';
import type { ReportOptions } from './capacity-report.js';
import type { CapacityService, ReportScope } from './capacity-service.js';
import type { Adjustment } from './forecast.js';
import { parseGrowth, parseHorizon } from './forecast-input.js';
import { LIMIT_ID } from './limits.js';

const forecastQuery = {
  growth: z.string().max(40).optional().describe('What-if growth replacing the fitted trend, e.g. `20%/month`, `5%/week`.'),
  horizon: z.string().max(20).optional().describe('How far ahead to look for exhaustion, e.g. `14d` (default capacity.horizon).'),
  adjust: z
    .string()
    .max(400)
    .optional()
    .describe('Planned adjustments, comma-separated `DATE:+30%` (from DATE on, usage × 1.3), e.g. `2026-05-01:+30%,2026-06-01:-10%`.'),
  model: z.enum(['linear', 'seasonal']).optional().describe('Force a model (default: the one with the smaller back-tested error).'),
};

const reportQuery = z
  .object({
    ...forecastQuery,
    tenant: z.string().regex(TENANT_ID, 'must be 1-63 lowercase letters, digits, "-" or "_"').optional().describe('One tenant\'s limits (system admins; others see only their own).'),
  })
  .strict();

const limitQuery = z.object(forecastQuery).strict();
const limitParams = z.object({ id: z.string().regex(LIMIT_ID, 'a limit id: letters, digits, ".", "-" or "_"') }).strict();

/** `2026-05-01:+30%,2026-06-01:-10%` → adjustments (each refused with its position). */
export function parseAdjustments(text: string, now: number): Adjustment[] {
  return text.split(',').map((part, i) => {
    const path = `adjust[${i}]`;
    const m = /^\s*(.+):\s*([+-]?\d+(?:\.\d+)?)\s*%\s*$/.exec(part);
    if (!m) throw new KeelError('validation_failed', `${path}: "${part}" is not DATE:+N% (e.g. 2026-05-01:+30%)`, { details: [{ path, message: 'expected DATE:+N%' }] });
    const pct = Number(m[2]);
    if (!(pct > -100) || pct > 10_000) throw new KeelError('validation_failed', `${path}: ${pct}% must be above -100% and at most 10000%`, { details: [{ path, message: 'percent out of range' }] });
    return { at: timeParam(path, m[1]!.trim(), now, now), percent: pct };
  });
}

function options(q: { growth?: string | undefined; horizon?: string | undefined; adjust?: string | undefined; model?: 'linear' | 'seasonal' | undefined }, now: number, defaultHorizon: number): ReportOptions {
  return {
    now,
    horizonMs: q.horizon !== undefined ? parseHorizon(q.horizon) : defaultHorizon,
    horizonGiven: q.horizon !== undefined,
    ...(q.growth !== undefined ? { growthPerMonth: parseGrowth(q.growth) } : {}),
    ...(q.adjust !== undefined ? { adjustments: parseAdjustments(q.adjust, now) } : {}),
    ...(q.model !== undefined ? { model: q.model } : {}),
  };
}

function scopeOf(principal: Principal, tenant: string | undefined): ReportScope {
  if (tenant !== undefined) {
    assertTenantAccess(principal, tenant);
    return { tenant };
  }
  return principal.superuser ? {} : { tenant: principal.tenant };
}

export function capacityRoutes(deps: { capacity: CapacityService; clock: Clock; horizonMs: number }): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/capacity',
      summary: 'Every tracked limit ranked by time to exhaustion',
      description:
        'Keel\'s own limits (rate quotas, daily quotas, event-log size and retention, the data volume, consumer lag, node ingest, the JetStream stream, PostgreSQL) and `Limit` definitions, each with utilisation now, peaks over 1 h, 1 d and 7 d, the trend, the forecast model and its back-tested error, and the time to exhaustion with a band (or `not_before` the horizon). A key sees its own tenant\'s limits; system admins see every limit.',
      tags: ['capacity'],
      permission: 'capacity:read',
      query: reportQuery,
      responses: [
        { status: 200, description: 'The ranked limits' },
        { status: 400, description: 'Invalid growth, horizon or adjustment' },
      ],
      handler: async ({ query, principal }) => {
        const now = deps.clock.now();
        const o = options(query, now, deps.horizonMs);
        const limits = await deps.capacity.report(scopeOf(principal, query.tenant), o);
        return { at: new Date(now).toISOString(), horizon: new Date(now + o.horizonMs).toISOString(), limits };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/capacity/limits/:id',
      summary: 'One tracked limit with its forecast and history',
      description: 'The limit\'s line of the report and its sampled history (`[time, usage]`, raw samples then hourly peaks) over capacity.history.',
      tags: ['capacity'],
      permission: 'capacity:read',
      params: limitParams,
      query: limitQuery,
      responses: [
        { status: 200, description: 'The limit' },
        { status: 400, description: 'Invalid growth, horizon or adjustment' },
        { status: 404, description: 'No such limit (or another tenant\'s)' },
      ],
      handler: async ({ params, query, principal }) => {
        const now = deps.clock.now();
        const o = options(query, now, deps.horizonMs);
        const r = await deps.capacity.limit(params.id, principal.superuser ? {} : { tenant: principal.tenant }, o);
        return { ...r.report, history: r.history.map((p) => [new Date(p.t).toISOString(), p.v] as const) };
      },
    }),
  ];
}
