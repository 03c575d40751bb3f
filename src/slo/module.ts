/**
 * The SLO engine as a Keel module: the OpenSLO kinds, the live aggregator (worker role), and, on
 * the leader, the backfill, the burn-rate evaluator and counter pruning; plus the routes.
 */
import { fenceOf, type CoreContext, type KeelModule, type LeaderLease } from '../module/context.js';
import { runProcessor, type ProcessorRunner } from '../processing/processor.js';
import { SloAggregator } from './aggregator.js';
import { AttributeCatalogue, unseenMessage } from './attribute-catalogue.js';
import { sloAttributeUses } from './attribute-paths.js';
import { Backfiller } from './backfill.js';
import { BackgroundLoop } from '../core/background-loop.js';
import { SloEvaluator } from './evaluator.js';
import { currentGenerations, GenerationCache } from './generations.js';
import { sloKinds } from './kinds.js';
import { pruneSlo } from './maintenance.js';
import { SloMetrics } from './metrics.js';
import { prometheusRules } from './prometheus-rules.js';
import { sloRoutes } from './routes.js';
import { SloStatusService } from './status.js';
import { SLO_KINDS } from './sync.js';

declare module '../core/bus.js' {
  interface BusEvents {
    /** Batches whose SLO counts just committed (their events are counted): Keel's freshness SLO. */
    'slo.counted': { batches: { tenant: string; receivedAt: number; count: number }[] };
  }
}

export interface SloModule extends KeelModule {
  /** Evaluates one tenant's SLO burn-rate alerts now (`keel slo evaluate`, a runbook's `slo.evaluate`). */
  evaluate(tenant: string): Promise<{ evaluated: number; transitions: number }>;
}

export function sloModule(ctx: CoreContext): SloModule {
  const { store, logger, clock, config } = ctx;
  // Only the API reads the sample (plan warnings, SLO status), on demand, per tenant.
  const catalogue = new AttributeCatalogue(ctx.log);
  for (const k of sloKinds(clock, catalogue)) ctx.kinds.register(k);
  const metrics = new SloMetrics(ctx.metrics);
  const status = new SloStatusService(
    store.db,
    clock,
    async (tenant, gen) => (await catalogue.unseenNow(tenant, sloAttributeUses(gen.slo))).map(unseenMessage),
    async (tenant) => (await ctx.log.readTenant(tenant, 0, { maxBatches: 1, maxBytes: 1 }))[0]?.minTs,
  );
  const evaluator = new SloEvaluator({ db: store.db, alerts: ctx.alerts, clock, logger, metrics, minBadEvents: config.slo.minBadEvents });
  const backfiller = new Backfiller({ db: store.db, log: ctx.log, clock, logger, metrics, maxBreakdownValues: config.slo.maxBreakdownValues });
  const aggregator = new SloAggregator({
    metrics,
    maxBreakdownValues: config.slo.maxBreakdownValues,
    logger,
    clock,
    onCounted: (batches) => ctx.bus.emit('slo.counted', { batches: batches.map((b) => ({ tenant: b.tenant, receivedAt: b.receivedAt, count: b.count })) }),
  });
  let runner: ProcessorRunner | undefined;
  // A failed round is logged and tried again after 5 s.
  const onError = (what: string) => (err: unknown) => {
    logger.error({ err }, `slo ${what} failed`);
    return 5000;
  };
  // Leader work fences its transactions with the lease (`fenceOf`): a deposed leader commits nothing.
  const backfillLoop = new BackgroundLoop<LeaderLease>(async ({ context: lease }) => ((await backfiller.step(fenceOf(lease))) ? 0 : 2000), onError('backfill'));
  const evaluatorLoop = new BackgroundLoop<LeaderLease>(async ({ context: lease }) => {
    await evaluator.evaluateAll(fenceOf(lease));
    return config.slo.evaluationInterval;
  }, onError('evaluation'));
  const maintenanceLoop = new BackgroundLoop<LeaderLease>(async ({ context: lease }) => {
    const r = await pruneSlo(store.db, clock.now(), fenceOf(lease));
    if (r.rows > 0 || r.retired > 0) logger.info(r, 'slo counters pruned');
    return config.slo.maintenanceInterval;
  }, onError('pruning'));
  // Every SLO's counter series exists from its definition on, so rules and dashboards see 0, not nothing.
  // (Plans kept between scrapes, as the evaluator keeps them between ticks.)
  const scraped = new GenerationCache();
  ctx.metrics.onScrape('slo', async () => {
    for (const g of await scraped.current(store.db)) metrics.touch(g.tenant, g.name, g.slo.objectives.length);
  });
  const unsubscribe = ctx.bus.on('definitions.applied', (e) => {
    if (e.changes.some((c) => SLO_KINDS.includes(c.kind))) backfillLoop.wake();
  });

  const evaluate = (tenant: string) => evaluator.evaluateAll(undefined, tenant);
  return {
    name: 'slo',
    evaluate,
    routes: sloRoutes({
      definitions: ctx.definitions,
      status,
      clock: ctx.clock,
      evaluate,
      rules: async (tenant) => prometheusRules(tenant, await currentGenerations(store.db, tenant), config.slo.minBadEvents),
    }),
    start: async () => {
      // 100 ms of gathering: at most ~10 counter commits per second under any ingest rate.
      if (ctx.roles.worker) runner = runProcessor(ctx, aggregator, { gatherMs: 100 });
      ctx.whileLeader('slo-backfill', (lease) => backfillLoop.run(lease, lease.signal));
      if (ctx.roles.evaluator) ctx.whileLeader('slo-evaluator', (lease) => evaluatorLoop.run(lease, lease.signal));
      ctx.whileLeader('slo-maintenance', (lease) => maintenanceLoop.run(lease, lease.signal));
    },
    stop: async () => {
      unsubscribe();
      await Promise.all([backfillLoop.close(), evaluatorLoop.close(), maintenanceLoop.close()]);
      await runner?.stop();
    },
  };
}
