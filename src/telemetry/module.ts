/**
 * Telemetry: /healthz, /readyz and /metrics, and the metrics every process reports about its
 * store and event log. Served by every role (a worker is scraped and probed too).
 */
import type { Authenticator } from '../api/server.js';
import type { CoreContext, KeelModule } from '../module/context.js';
import { metricsAccess } from './metrics-access.js';
import { telemetryRoutes, type ReadinessCheck } from './routes.js';

export interface TelemetryWiring {
  /** Decides who sees the full /metrics (a system admin's key or session). */
  auth: Authenticator;
  /** Every check /readyz runs: the runtime's dependencies and the modules' own. */
  checks: ReadinessCheck[];
  /** Whether /readyz includes the event log's writability (roles that ingest or process). */
  logReadiness: boolean;
  /** Facts added to /readyz (role, leaderships held). */
  describe?: (() => Record<string, unknown>) | undefined;
  version: string;
}

export function telemetryModule(ctx: CoreContext, w: TelemetryWiring): KeelModule {
  const { metrics, logger, store, log, config } = ctx;
  metrics.onSourceFailure = (source, err) => logger.warn({ err, source }, 'metrics of this source show last-known values (keel_scrape_stale) until it answers again');
  metrics.dependency(store.engine, () => store.ping());
  metrics.onScrape('log', async () => {
    metrics.overloaded.set(log.health().overloaded ? 1 : 0);
    const s = await log.stats();
    metrics.logBytes.set(s.bytes);
    if (s.diskBytes !== undefined) metrics.logDiskBytes.set(s.diskBytes);
    if (s.uncompactedBytes !== undefined) metrics.logUncompactedBytes.set(s.uncompactedBytes);
    metrics.logBatches.set(s.batches);
    metrics.logEvents.set(s.events);
    metrics.consumerLag.reset();
    for (const c of s.consumers) metrics.consumerLag.set({ consumer: c.name, partition: String(c.partition) }, c.lagEvents);
  });
  return {
    name: 'telemetry',
    servedByEveryRole: true,
    routes: telemetryRoutes({
      fullMetrics: metricsAccess({ token: config.security.metrics.token, auth: w.auth }),
      metrics,
      log,
      version: w.version,
      checks: w.checks,
      logReadiness: w.logReadiness,
      ...(w.describe ? { describe: w.describe } : {}),
    }),
  };
}
