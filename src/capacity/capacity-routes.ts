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
import { SENT } from '../api/route.js';
import { plotSpec, renderSvg, svgToPng } from './plot.js';
import { grownLoad, plan, PLAN_FIGURES } from './capacity-plan.js';
import type { IngestFigures } from './ingest-figures.js';
import { capacityReportAnswer, limitAnswer, planAnswer } from './schemas.js';
import { parseLoad } from './forecast-input.js';

const forecastQuery = {
  growth: z.string().max(40).optional().describe('What-if growth replacing the fitted trend, e.g. `20%/month`, `5%/week`.'),
  horizon: z.string().max(20).optional().describe('How far ahead to look for exhaustion, e.g. `14d` (default capacity.horizon).'),
  adjust: z.string().max(400).optional().describe('Planned adjustments, comma-separated `DATE:+30%` (from DATE on, usage × 1.3), e.g. `2026-05-01:+30%,2026-06-01:-10%`.'),
  model: z.enum(['linear', 'seasonal']).optional().describe('Force a model (default: the one with the smaller back-tested error).'),
};

const reportQuery = z
  .object({
    ...forecastQuery,
    tenant: z.string().regex(TENANT_ID, 'must be 1-63 lowercase letters, digits, "-" or "_"').optional().describe("One tenant's limits (system admins; others see only their own)."),
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

function options(
  q: { growth?: string | undefined; horizon?: string | undefined; adjust?: string | undefined; model?: 'linear' | 'seasonal' | undefined },
  now: number,
  defaultHorizon: number,
): ReportOptions {
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

const plotQuery = z.object({ ...forecastQuery, format: z.enum(['svg', 'png']).default('svg').describe('svg or png') }).strict();
const planQuery = z
  .object({
    load: z.string().max(40).optional().describe('Projected peak load, e.g. `500000/s`, `30M/min`.'),
    growth: z.string().max(40).optional().describe('Growth of the measured peak load, e.g. `20%/month` (with `at`).'),
    at: z.string().max(40).optional().describe('The date the growth is projected to (with `growth`).'),
  })
  .strict();

export interface PlanFacts {
  /** Peak ingest over the last 7 days (events/s) and stored bytes per event over the last day. */
  measured(now: number): Promise<{ peakLoad: number; bytesPerEvent: number | null; compactedFraction: number | null }>;
  /** Whether the embedded log compacts its segments (log.compress). */
  compress: boolean;
  retentionMs: number;
  replicas: number;
  /** Per-node and per-partition figures: recorded bench results, configured, or BENCHMARKS.md's. */
  figures(): Promise<IngestFigures>;
  nodePricePerMonth?: number;
}

export function capacityRoutes(deps: { capacity: CapacityService; clock: Clock; horizonMs: number; plan: PlanFacts }): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/capacity/limits/:id/plot',
      summary: 'A picture of one limit: usage history, forecast, band and the capacity line',
      description: 'Rendered on the server by Vega-Lite (SVG) and resvg (PNG): title, axes with units and UTC dates.',
      tags: ['capacity'],
      permission: 'capacity:read',
      params: limitParams,
      query: plotQuery,
      responses: [
        { status: 200, description: 'image/svg+xml or image/png', contentType: 'image/svg+xml' },
        { status: 400, description: 'Invalid growth, horizon or adjustment' },
        { status: 404, description: "No such limit (or another tenant's)" },
      ],
      handler: async ({ params, query, principal, reply }) => {
        const now = deps.clock.now();
        const o = options(query, now, deps.horizonMs);
        const r = await deps.capacity.limit(params.id, principal.superuser ? {} : { tenant: principal.tenant }, o);
        const svg = await renderSvg(plotSpec(r.report, r.history, o));
        if (query.format === 'png') void reply.type('image/png').send(svgToPng(svg));
        else void reply.type('image/svg+xml; charset=utf-8').send(svg);
        return SENT;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/capacity/plan',
      summary: 'Nodes, partitions, disk and stream size (and cost) for a projected load',
      description:
        "From the per-node ingest and per-partition figures recorded by `keel bench ingest --record` on your machines, else capacity.nodeIngestEventsPerSecond, else the ones measured in BENCHMARKS.md (each named in `figures` with its source), sized at 70 % of them; bytes per event measured from usage over the last day, and on the embedded log's disk the fraction its compacted segments keep; cost with capacity.nodePricePerMonth.",
      tags: ['capacity'],
      permission: 'system:read',
      query: planQuery,
      responses: [
        { status: 200, description: 'The plan', schema: planAnswer },
        { status: 400, description: 'Neither load nor growth and at, or invalid values' },
      ],
      handler: async ({ query }) => {
        const now = deps.clock.now();
        const measured = await deps.plan.measured(now);
        let load: number;
        if (query.load !== undefined) {
          if (query.growth !== undefined || query.at !== undefined)
            throw new KeelError('validation_failed', 'give either load, or growth and at', { details: [{ path: 'load', message: 'not with growth/at' }] });
          load = parseLoad(query.load);
        } else if (query.growth !== undefined && query.at !== undefined) {
          const at = timeParam('at', query.at, now, now);
          if (at <= now) throw new KeelError('validation_failed', 'at: must be in the future', { details: [{ path: 'at', message: 'must be in the future' }] });
          if (measured.peakLoad <= 0)
            throw new KeelError('validation_failed', 'growth: no ingest measured in the last 7 days to grow from; give load instead', { details: [{ path: 'growth', message: 'no measured load' }] });
          load = grownLoad(measured.peakLoad, parseGrowth(query.growth), now, at);
        } else throw new KeelError('validation_failed', 'give load (e.g. 500000/s), or growth (e.g. 20%/month) and at (a date)', { details: [{ path: 'load', message: 'required' }] });
        const bytesPerEvent = measured.bytesPerEvent ?? PLAN_FIGURES.defaultBytesPerEvent;
        // The embedded log's disk: NDJSON bytes times what compaction leaves of them, measured on this log's compacted segments.
        const fraction = deps.plan.compress ? (measured.compactedFraction ?? PLAN_FIGURES.compactedFraction) : 1;
        return {
          measuredPeakLoad: measured.peakLoad,
          bytesPerEventMeasured: measured.bytesPerEvent !== null,
          compactedFractionMeasured: deps.plan.compress && measured.compactedFraction !== null,
          retention: deps.plan.retentionMs,
          ...plan({
            load,
            bytesPerEvent,
            diskBytesPerEvent: bytesPerEvent * fraction,
            retentionMs: deps.plan.retentionMs,
            replicas: deps.plan.replicas,
            figures: await deps.plan.figures(),
            ...(deps.plan.nodePricePerMonth !== undefined ? { nodePricePerMonth: deps.plan.nodePricePerMonth } : {}),
          }),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/capacity',
      summary: 'Every tracked limit ranked by time to exhaustion',
      description:
        "Keel's own limits (rate quotas, daily quotas, event-log size and retention, the data volume, consumer lag, node ingest, the JetStream stream, PostgreSQL) and `Limit` definitions, each with utilisation now, peaks over 1 h, 1 d and 7 d, the trend, the forecast model and its back-tested error, and the time to exhaustion with a band (or `not_before` the horizon). A key sees its own tenant's limits; system admins see every limit.",
      tags: ['capacity'],
      permission: 'capacity:read',
      query: reportQuery,
      responses: [
        { status: 200, description: 'The ranked limits', schema: capacityReportAnswer },
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
      description: "The limit's line of the report and its sampled history (`[time, usage]`, raw samples then hourly peaks) over capacity.history.",
      tags: ['capacity'],
      permission: 'capacity:read',
      params: limitParams,
      query: limitQuery,
      responses: [
        { status: 200, description: 'The limit', schema: limitAnswer },
        { status: 400, description: 'Invalid growth, horizon or adjustment' },
        { status: 404, description: "No such limit (or another tenant's)" },
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
