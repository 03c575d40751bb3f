/** Health, readiness, Prometheus metrics and log statistics. */
import { z } from 'zod';
import { SENT, defineRoute, type AnyRoute } from '../api/route.js';
import type { EventLog } from '../log/event-log.js';
import type { AuthRequest } from '../api/server.js';
import type { KeelMetrics } from './metrics.js';
import { publicExposition } from './public-metrics.js';
import { healthSchema, logStatsSchema, readinessSchema } from './schemas.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export function telemetryRoutes(deps: {
  metrics: KeelMetrics;
  log: EventLog;
  checks: ReadinessCheck[];
  version: string;
  /** Whether readiness includes the event log being writable (false for roles that neither ingest nor process). */
  logReadiness?: boolean;
  /** Facts added to the readiness answer (the process's roles, the leaderships it holds). */
  describe?: () => Record<string, unknown>;
  /** Whether a scrape sees the labels that name tenants and people (metrics-access.ts); without it, nobody does. */
  fullMetrics?: (req: AuthRequest) => Promise<boolean>;
}): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness: the process is up',
      tags: ['operations'],
      permission: 'public',
      responses: [{ status: 200, description: 'Up', schema: healthSchema }],
      handler: async () => ({ status: 'ok', version: deps.version }),
    }),
    defineRoute({
      method: 'GET',
      url: '/readyz',
      summary: 'Readiness: storage is reachable and writable',
      tags: ['operations'],
      permission: 'public',
      responses: [
        { status: 200, description: 'Ready', schema: readinessSchema },
        { status: 503, description: 'A dependency is down; the body says which', schema: readinessSchema },
      ],
      handler: async ({ reply }) => {
        const results: Record<string, { ok: boolean; error?: string }> = {};
        for (const c of deps.checks) {
          try {
            await c.check();
            results[c.name] = { ok: true };
          } catch (e) {
            results[c.name] = { ok: false, error: (e as Error).message };
          }
        }
        const health = deps.log.health();
        if (deps.logReadiness !== false) {
          results.event_log = health.writable ? { ok: true } : { ok: false, error: health.overloaded?.reason ?? 'not writable' };
        }
        const ready = Object.values(results).every((r) => r.ok);
        void reply.code(ready ? 200 : 503).send({
          status: ready ? 'ready' : 'unready',
          checks: results,
          ...(health.overloaded && deps.logReadiness !== false ? { ingest: { refusing: true, reason: health.overloaded.reason } } : {}),
          ...(deps.describe?.() ?? {}),
        });
        return SENT;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics (text exposition format)',
      description:
        'Without credentials: every metric, with the labels that could name a tenant, SLO, service or person summed away (counters, histograms) or left out (gauges). With the metrics token (`Authorization: Bearer`, `security.metrics.token`) or a system admin’s key: everything.',
      tags: ['operations'],
      permission: 'public',
      responses: [
        { status: 200, description: 'Metrics', contentType: 'text/plain; version=0.0.4' },
        { status: 401, description: 'A bearer that is neither the metrics token nor a valid key' },
      ],
      handler: async ({ request, reply }) => {
        const full = (await deps.fullMetrics?.(request)) ?? false;
        const text = await deps.metrics.render();
        void reply.type(deps.metrics.registry.contentType).send(full ? text : publicExposition(text));
        return SENT;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/log',
      summary: 'Event log statistics: size, positions, consumer lag',
      tags: ['operations'],
      permission: 'system:read',
      query: z.object({}).strict(),
      responses: [{ status: 200, description: 'Statistics', schema: logStatsSchema }],
      handler: async () => {
        const s = await deps.log.stats();
        return { ...s, health: deps.log.health() };
      },
    }),
  ];
}
