/**
 * Capacity: usage metering and capacity tracking. The `usage` processor counts what arrives (on
 * workers), the API reads it back, a leader-only loop removes usage older than the configured
 * retention, and another samples every tracked limit into `capacity_samples` (rolled up hourly)
 * for the forecasts of `keel capacity report`.
 */
import type { CoreContext, KeelModule, LeaderLease } from '../module/context.js';
import type { QuotaGate } from '../ingest/quotas.js';
import { DailyQuotaGate } from './daily-quota-gate.js';
import { pause } from '../core/pause.js';
import { runProcessor, type ProcessorRunner } from '../processing/processor.js';
import { peakMinutes, readBuiltinLimits } from './builtin-limits.js';
import { compactedFraction } from './capacity-plan.js';
import { capacityRoutes } from './capacity-routes.js';
import client from 'prom-client';
import { CAPACITY_SOURCE, dailyQuotaAlerts, limitAlerts, removedQuotaNotices, untrackedLimitAlerts, type CapacityAlert } from './capacity-alerts.js';
import { firingAlertsOf } from '../alerting/alert-queries.js';
import { CapacityService, dailyQuotaLimitId, pruneLimitMinutes, readUserLimits } from './capacity-service.js';
import { limitKind } from './limit-kind.js';
import { limitsProcessor } from './limit-processor.js';
import { AttributeCatalogue } from '../slo/attribute-catalogue.js';
import { dayOf } from './daily-quota.js';
import { DailyQuotaService } from './daily-quota-service.js';
import { quotaRoutes } from './quota-routes.js';
import { BenchResultService } from './bench-results.js';
import { benchResultRoutes } from './bench-result-routes.js';
import { ingestFigures, type IngestFigures } from './ingest-figures.js';
import type { LimitReading } from './limits.js';
import { usageRoutes } from './routes.js';
import { usageProcessor } from './usage-processor.js';
import { UsageService } from './usage-service.js';

export const USAGE_RETENTION_LEADERSHIP = 'usage-retention';
export const CAPACITY_SAMPLER_LEADERSHIP = 'capacity-sampler';
export const DAILY_NOTICES_LEADERSHIP = 'daily-quota-notices';
/** How often the leader checks daily quotas for the 80 % and 100 % notices. */
const NOTICE_INTERVAL_MS = 10_000;

interface Gauges {
  utilisation: client.Gauge<'limit' | 'tenant'>;
  seconds: client.Gauge<'limit' | 'tenant'>;
}

function capacityGauges(ctx: CoreContext): Gauges {
  // Set by the sampler's leader after each sample (other processes do not export them).
  return {
    utilisation: new client.Gauge({
      name: 'keel_capacity_utilisation_ratio',
      help: 'Usage over capacity of each tracked limit (keel capacity report), on the capacity-sampler leader.',
      labelNames: ['limit', 'tenant'] as const,
      registers: [ctx.metrics.registry],
    }),
    seconds: new client.Gauge({
      name: 'keel_capacity_seconds_to_exhaustion',
      help: 'Seconds until each limit is forecast to run out (0: now); absent when not forecast to run out within the horizon.',
      labelNames: ['limit', 'tenant'] as const,
      registers: [ctx.metrics.registry],
    }),
  };
}

async function signalAll(ctx: CoreContext, alerts: CapacityAlert[]): Promise<void> {
  for (const a of alerts) {
    await ctx.alerts.signal({ tenant: a.tenant, dedupKey: a.dedupKey, source: CAPACITY_SOURCE, status: a.status, severity: a.severity, summary: a.summary, labels: a.labels, values: a.values });
  }
}

export interface CapacityModule extends KeelModule {
  /** The quota gate ingest asks: daily volume quotas in front of the mode's rate quota. */
  quotaGate: QuotaGate;
}

export function capacityModule(ctx: CoreContext, deps: { rateQuotas: QuotaGate }): CapacityModule {
  const usage = new UsageService(ctx.store);
  const capacity = new CapacityService(ctx.store, ctx.config);
  const quotas = new DailyQuotaService(ctx.store);
  const benchResults = new BenchResultService(ctx.store);
  const figures = async () => ingestFigures(await benchResults.latest(), ctx.config.capacity.nodeIngestEventsPerSecond);
  // Daily volume quotas in front of the rate quota, leased from the state store; only where ingest runs.
  const dailyGate = ctx.roles.ingest || ctx.roles.api ? new DailyQuotaGate(deps.rateQuotas, { service: quotas, clock: ctx.clock, logger: ctx.logger, bus: ctx.bus }) : undefined;
  const gauges = capacityGauges(ctx);
  let runner: ProcessorRunner | undefined;
  let limitsRunner: ProcessorRunner | undefined;
  // The SLOs' sampler of a tenant's recent events: a Limit reading a field none has is a plan warning.
  const catalogue = new AttributeCatalogue(ctx.log);
  ctx.kinds.register(limitKind({ unseen: (tenant, uses) => catalogue.unseenNow(tenant, uses) }));
  return {
    name: 'capacity',
    quotaGate: dailyGate ?? deps.rateQuotas,
    routes: [
      ...usageRoutes({ usage, clock: ctx.clock }),
      ...capacityRoutes({
        capacity,
        clock: ctx.clock,
        horizonMs: ctx.config.capacity.horizon,
        plan: {
          measured: async (now) => {
            const peak = await peakMinutes(ctx.store, now - 7 * 86_400_000, now);
            const day = await usage.totals({ from: now - 86_400_000, to: now });
            const events = day.reduce((a, u) => a + u.events, 0);
            const bytes = day.reduce((a, u) => a + u.bytes, 0);
            return { peakLoad: peak.total / 60, bytesPerEvent: events > 0 ? bytes / events : null, compactedFraction: compactedFraction(await ctx.log.stats()) };
          },
          compress: ctx.config.log.compress,
          retentionMs: ctx.config.log.retention.maxAge,
          replicas: ctx.config.nats.replicas,
          figures,
          ...(ctx.config.capacity.nodePricePerMonth !== undefined ? { nodePricePerMonth: ctx.config.capacity.nodePricePerMonth } : {}),
        },
      }),
      ...quotaRoutes({ quotas, tenants: ctx.tenants, clock: ctx.clock, bus: ctx.bus }),
      ...benchResultRoutes({ results: benchResults, figures, clock: ctx.clock }),
    ],
    start: async () => {
      runner = runProcessor(ctx, usageProcessor());
      limitsRunner = runProcessor(ctx, limitsProcessor({ logger: ctx.logger }));
      ctx.whileLeader(USAGE_RETENTION_LEADERSHIP, (lease) => retentionLoop(ctx, usage, lease));
      ctx.whileLeader(CAPACITY_SAMPLER_LEADERSHIP, (lease) => samplerLoop(ctx, capacity, quotas, figures, gauges, lease));
      ctx.whileLeader(DAILY_NOTICES_LEADERSHIP, (lease) => noticesLoop(ctx, quotas, usage, lease));
    },
    stop: async () => {
      await runner?.stop();
      await limitsRunner?.stop();
      await dailyGate?.close();
    },
  };
}

async function retentionLoop(ctx: CoreContext, usage: UsageService, lease: LeaderLease): Promise<void> {
  while (!lease.signal.aborted) {
    const before = ctx.clock.now() - ctx.config.capacity.usageRetention;
    await ctx.store.db.transaction().execute(async (trx) => {
      await lease.assertHeld(trx);
      const rows = await usage.prune(before, trx);
      if (rows > 0) ctx.logger.info({ rows }, 'usage retention removed old minutes');
      else ctx.logger.debug('usage retention pass: nothing to remove');
    });
    await pause(ctx.config.capacity.retentionInterval, lease.signal);
  }
}

/**
 * Samples every limit each capacity.sampleInterval. A sample missed (a leader change, a slow
 * database) is a gap in the history, which the forecasts tolerate; a sample is keyed by its time,
 * so a deposed leader's late write adds a point, never a double count.
 */
async function samplerLoop(ctx: CoreContext, capacity: CapacityService, quotas: DailyQuotaService, figures: () => Promise<IngestFigures>, gauges: Gauges, lease: LeaderLease): Promise<void> {
  const interval = ctx.config.capacity.sampleInterval;
  while (!lease.signal.aborted) {
    try {
      const now = ctx.clock.now();
      const readings: LimitReading[] = await readBuiltinLimits(
        { store: ctx.store, log: ctx.log, tenants: ctx.tenants, config: ctx.config, logger: ctx.logger, figures: await figures() },
        now,
        interval,
      );
      for (const q of await quotas.states(now)) if (q.eventsPerDay !== null) readings.push({ id: dailyQuotaLimitId(q.tenant), tenant: q.tenant, usage: q.used, capacity: q.eventsPerDay });
      readings.push(...(await readUserLimits(ctx.store, now - interval, now)));
      await lease.assertHeld();
      await capacity.record(now, readings);
      await capacity.rollUp(now);
      await quotas.prune(dayOf(now) - 7 * 86_400_000);
      await pruneLimitMinutes(ctx.store, now - 2 * 86_400_000);
      const report = await capacity.report({}, { now, horizonMs: ctx.config.capacity.horizon });
      gauges.utilisation.reset();
      gauges.seconds.reset();
      for (const r of report) {
        const labels = { limit: r.id, tenant: r.tenant ?? '' };
        if (r.utilisation !== null) gauges.utilisation.set(labels, r.utilisation);
        if (r.exhaustion.secondsToExhaustion !== null) gauges.seconds.set(labels, r.exhaustion.secondsToExhaustion);
      }
      await lease.assertHeld();
      // Daily quotas have their own notices (noticesLoop); the rest alert from the forecast.
      await signalAll(ctx, report.filter((r) => r.kind !== 'daily_quota').flatMap(limitAlerts));
      await signalAll(ctx, untrackedLimitAlerts(await firingAlertsOf(ctx.store.db, CAPACITY_SOURCE), new Set(report.map((r) => r.id))));
    } catch (err) {
      if (!lease.signal.aborted) ctx.logger.warn({ err }, 'capacity sampling failed; retrying at the next interval');
    }
    await pause(interval, lease.signal);
  }
}

/** The daily quotas' 80 % and 100 % notices, checked more often than the capacity samples. */
async function noticesLoop(ctx: CoreContext, quotas: DailyQuotaService, usage: UsageService, lease: LeaderLease): Promise<void> {
  const interval = Math.min(NOTICE_INTERVAL_MS, ctx.config.capacity.sampleInterval);
  while (!lease.signal.aborted) {
    try {
      const now = ctx.clock.now();
      const day = new Date(dayOf(now)).toISOString().slice(0, 10);
      const states = await quotas.states(now);
      if (states.length > 0) {
        // Notices count the events stored (the usage processor, exactly once), not the leased
        // counter, which runs ahead by the leases instances hold.
        const counted = new Map((await usage.totals({ from: dayOf(now), to: now + 1 })).map((u) => [u.tenant, u.events]));
        for (const q of states) {
          if (q.eventsPerDay === null) continue;
          await lease.assertHeld();
          await signalAll(ctx, dailyQuotaAlerts(q.tenant, counted.get(q.tenant) ?? 0, q.eventsPerDay, day));
        }
      }
      const withQuota = new Set(states.filter((q) => q.eventsPerDay !== null).map((q) => q.tenant));
      const stale = removedQuotaNotices(await firingAlertsOf(ctx.store.db, CAPACITY_SOURCE), withQuota);
      if (stale.length > 0) {
        await lease.assertHeld();
        await signalAll(ctx, stale);
      }
    } catch (err) {
      if (!lease.signal.aborted) ctx.logger.warn({ err }, 'daily quota notices failed; retrying');
    }
    await pause(interval, lease.signal);
  }
}
