/**
 * HTTP routes of the SLO engine. SLO definitions written here go through the definitions service
 * (so versions, atomicity and validation are the same as `keel apply`); everything read here is
 * computed from the counters.
 */
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { timeParam, timeText } from '../core/time-input.js';
import { SENT, defineRoute, type AnyRoute } from '../api/route.js';
import { KeelError } from '../core/errors.js';
import { parseDuration } from '../core/units.js';
import type { DefinitionsService } from '../definitions/definitions-service.js';
import { sloAlertsSchema, sloBackfillsSchema, sloBucketsSchema, sloListSchema, sloSeriesSchema, sloStatusSchema } from './schemas.js';
import type { SloStatusService } from './status.js';

const nameParams = z.object({ name: z.string().min(1).max(200) }).strict();
const sloDocument = z.record(z.string(), z.unknown()).describe('An OpenSLO SLO document in JSON: {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {...}, "spec": {...}}');

export interface SloRouteDeps {
  definitions: DefinitionsService;
  status: SloStatusService;
  evaluate(tenant: string): Promise<{ evaluated: number; transitions: number }>;
  rules(tenant: string): Promise<string>;
  clock: Clock;
}

function asSource(doc: Record<string, unknown>, name?: string): { file: string; content: string }[] {
  if (doc.kind !== 'SLO') {
    throw new KeelError('validation_failed', 'kind must be "SLO" (other kinds go through /v1/definitions/apply)', { details: [{ path: 'kind', message: 'must be SLO' }] });
  }
  const meta = doc.metadata as { name?: unknown } | undefined;
  if (name !== undefined && meta?.name !== name) {
    throw new KeelError('validation_failed', `metadata.name must be "${name}", the name in the URL`, { details: [{ path: 'metadata.name', message: `must be ${name}` }] });
  }
  // JSON is YAML: the definitions service reads it with lines and field paths for its errors.
  return [{ file: 'request', content: JSON.stringify(doc, null, 2) }];
}

export function sloRoutes(deps: SloRouteDeps): AnyRoute[] {
  const { definitions, status } = deps;
  const actor = (p: { actor: string }) => p.actor;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/slos',
      summary: 'List SLOs with their SLI, error budget, burn rates over the alert windows, firing alerts and backfill state',
      tags: ['slo'],
      permission: 'slo:read',
      query: z.object({}).strict(),
      responses: [{ status: 200, description: 'SLOs', schema: sloListSchema }],
      handler: async ({ principal }) => status.list(principal.tenant),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/slos',
      summary: 'Create (or update) an SLO from an OpenSLO document',
      tags: ['slo'],
      permission: 'slo:write',
      audit: 'slo.apply',
      body: sloDocument,
      responses: [
        { status: 201, description: 'Applied; the plan and the SLO’s status (its backfill starts at once)' },
        { status: 400, description: 'Invalid document; every error with its field path; nothing was applied' },
      ],
      handler: async ({ body, principal, audit }) => {
        const plan = await definitions.apply(principal.tenant, asSource(body), actor(principal));
        for (const i of plan.items) if (i.action !== 'unchanged') audit({ target: `${i.kind}/${i.name}`, after: { action: i.action, diff: i.diff } });
        const name = (body.metadata as { name: string }).name;
        return { plan, slo: await status.status(principal.tenant, name) };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/slos/:name',
      summary: 'Create or replace the SLO of this name',
      tags: ['slo'],
      permission: 'slo:write',
      audit: 'slo.apply',
      params: nameParams,
      body: sloDocument,
      responses: [
        { status: 200, description: 'Applied; the plan and the SLO’s status' },
        { status: 400, description: 'Invalid document; nothing was applied' },
      ],
      handler: async ({ body, params, principal, audit }) => {
        const plan = await definitions.apply(principal.tenant, asSource(body, params.name), actor(principal));
        for (const i of plan.items) if (i.action !== 'unchanged') audit({ target: `${i.kind}/${i.name}`, after: { action: i.action, diff: i.diff } });
        return { plan, slo: await status.status(principal.tenant, params.name) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/slos/:name',
      summary: 'Delete an SLO (its alerts resolve; its counters are pruned)',
      tags: ['slo'],
      permission: 'slo:write',
      audit: 'slo.delete',
      params: nameParams,
      responses: [
        { status: 200, description: 'The deleted definition' },
        { status: 404, description: 'No such SLO' },
      ],
      handler: async ({ params, principal, audit }) => {
        const d = await definitions.remove(principal.tenant, 'SLO', params.name, actor(principal));
        audit({ target: `SLO/${params.name}`, before: d.spec });
        return d;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/slos/:name',
      summary: 'SLO status: SLI, error budget (events and %), burn rate per alert window, exhaustion forecast, top breakdown values, alerts',
      tags: ['slo'],
      permission: 'slo:read',
      params: nameParams,
      query: z.object({}).strict(),
      responses: [
        { status: 200, description: 'Status', schema: sloStatusSchema },
        { status: 404, description: 'No such SLO' },
      ],
      handler: async ({ params, principal }) => status.status(principal.tenant, params.name),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/slos/:name/series',
      summary: 'SLI, budget remaining and burn rates as time series, for charts',
      description:
        'Points every `step` (whole minutes, e.g. 5m or 300) from `from` to `to` (RFC 3339, date, epoch ms, now-24h or 7d; default the last 24 hours), at most 1000 points. Each point is computed over the windows ending at it.',
      tags: ['slo'],
      permission: 'slo:read',
      params: nameParams,
      query: z
        .object({
          from: timeText.optional(),
          to: timeText.optional(),
          step: z.string().max(20).optional().describe('e.g. 5m, 1h, or seconds'),
        })
        .strict(),
      responses: [
        { status: 200, description: 'Series per objective', schema: sloSeriesSchema },
        { status: 400, description: 'Bad range or step' },
        { status: 404, description: 'No such SLO' },
      ],
      handler: async ({ params, query, principal }) => {
        const from = timeParam('from', query.from, undefined, deps.clock.now());
        const to = timeParam('to', query.to, undefined, deps.clock.now());
        let stepMs: number | undefined;
        if (query.step !== undefined) {
          stepMs = /^\d+$/.test(query.step) ? Number(query.step) * 1000 : parseDuration(query.step);
          if (!Number.isFinite(stepMs) || stepMs <= 0) {
            throw new KeelError('validation_failed', `step "${query.step}" is not a duration (e.g. 5m, 1h, or seconds)`, { details: [{ path: 'step', message: 'not a duration' }] });
          }
        }
        return status.series(principal.tenant, params.name, {
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(stepMs !== undefined ? { stepMs } : {}),
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/slos/:name/buckets',
      summary: 'Raw event counters of an objective by event-time bucket (10s, 1m, 1h or 1d)',
      tags: ['slo'],
      permission: 'slo:read',
      params: nameParams,
      query: z
        .object({
          res: z.enum(['10s', '1m', '1h', '1d']).default('1m'),
          objective: z.coerce.number().int().min(0).max(9).default(0),
          from: timeText.optional(),
          to: timeText.optional(),
          breakdown: z.enum(['true', 'false']).default('false').describe('Also list each breakdown value combination'),
        })
        .strict(),
      responses: [
        { status: 200, description: 'Buckets, oldest first', schema: sloBucketsSchema },
        { status: 404, description: 'No such SLO' },
      ],
      handler: async ({ params, query, principal }) => {
        const from = timeParam('from', query.from, undefined, deps.clock.now());
        const to = timeParam('to', query.to, undefined, deps.clock.now());
        return status.buckets(principal.tenant, params.name, {
          objective: query.objective,
          resSeconds: { '10s': 10, '1m': 60, '1h': 3600, '1d': 86400 }[query.res],
          breakdown: query.breakdown === 'true',
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/slos/:name/alerts',
      summary: 'Burn-rate alert state and transitions (with the values that caused them)',
      tags: ['slo'],
      permission: 'slo:read',
      params: nameParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict(),
      responses: [
        { status: 200, description: 'State and transitions, newest first', schema: sloAlertsSchema },
        { status: 404, description: 'No such SLO' },
      ],
      handler: async ({ params, query, principal }) => status.alerts(principal.tenant, params.name, query.limit),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/slos/:name/backfill',
      summary: 'Backfill progress of an SLO',
      tags: ['slo'],
      permission: 'slo:read',
      params: nameParams,
      query: z.object({}).strict(),
      responses: [
        { status: 200, description: 'Progress', schema: sloBackfillsSchema },
        { status: 404, description: 'No such SLO' },
      ],
      handler: async ({ params, principal }) => status.backfills(principal.tenant, params.name),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/slo-backfills',
      summary: 'Backfill progress of every SLO',
      tags: ['slo'],
      permission: 'slo:read',
      query: z.object({}).strict(),
      responses: [{ status: 200, description: 'Progress per SLO', schema: sloBackfillsSchema }],
      handler: async ({ principal }) => status.backfills(principal.tenant),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/slo-evaluations',
      summary: 'Evaluate the tenant’s SLO burn-rate alerts now (the evaluator also runs on its interval, for every tenant)',
      tags: ['slo'],
      permission: 'slo:write',
      audit: 'slo.evaluate',
      responses: [{ status: 200, description: 'SLOs evaluated and alert transitions' }],
      handler: async ({ principal }) => deps.evaluate(principal.tenant),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/export/prometheus-rules',
      summary: 'The tenant’s SLOs as Prometheus recording and alerting rules (YAML)',
      tags: ['slo'],
      permission: 'slo:read',
      query: z.object({}).strict(),
      responses: [{ status: 200, description: 'Rules file', contentType: 'application/yaml' }],
      handler: async ({ principal, reply }) => {
        void reply.type('application/yaml').send(await deps.rules(principal.tenant));
        return SENT;
      },
    }),
  ];
}
