/**
 * Capacity: usage metering and capacity tracking. The `usage` processor counts what arrives (on
 * workers), the API reads it back, a leader-only loop removes usage older than the configured
 * retention, and another samples every tracked limit into `capacity_samples` (rolled up hourly)
 * for the forecasts of `keel capacity report`.
 */
import type { CoreContext, KeelModule, LeaderLease } from '../core/context.js';
import { pause } from '../core/pause.js';
import { runProcessor, type ProcessorRunner } from '../processing/processor.js';
import { readBuiltinLimits } from './builtin-limits.js';
import { capacityRoutes } from './capacity-routes.js';
import { CapacityService } from './capacity-service.js';
import { usageRoutes } from './routes.js';
import { usageProcessor } from './usage-processor.js';
import { UsageService } from './usage-service.js';

export const USAGE_RETENTION_LEADERSHIP = 'usage-retention';
export const CAPACITY_SAMPLER_LEADERSHIP = 'capacity-sampler';

export function capacityModule(ctx: CoreContext): KeelModule {
  const usage = new UsageService(ctx.store);
  const capacity = new CapacityService(ctx.store, ctx.config);
  let runner: ProcessorRunner | undefined;
  return {
    name: 'capacity',
    routes: [
      ...usageRoutes({ usage, clock: ctx.clock, log: ctx.log, store: ctx.store }),
      ...capacityRoutes({ capacity, clock: ctx.clock, horizonMs: ctx.config.capacity.horizon }),
    ],
    start: async () => {
      runner = runProcessor(ctx, usageProcessor());
      ctx.whileLeader(USAGE_RETENTION_LEADERSHIP, (lease) => retentionLoop(ctx, usage, lease));
      ctx.whileLeader(CAPACITY_SAMPLER_LEADERSHIP, (lease) => samplerLoop(ctx, capacity, lease));
    },
    stop: async () => {
      await runner?.stop();
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
async function samplerLoop(ctx: CoreContext, capacity: CapacityService, lease: LeaderLease): Promise<void> {
  const interval = ctx.config.capacity.sampleInterval;
  while (!lease.signal.aborted) {
    try {
      const now = ctx.clock.now();
      const readings = await readBuiltinLimits({ store: ctx.store, log: ctx.log, tenants: ctx.tenants, config: ctx.config, logger: ctx.logger }, now, interval);
      await lease.assertHeld();
      await capacity.record(now, readings);
      await capacity.rollUp(now);
    } catch (err) {
      if (!lease.signal.aborted) ctx.logger.warn({ err }, 'capacity sampling failed; retrying at the next interval');
    }
    await pause(interval, lease.signal);
  }
}
