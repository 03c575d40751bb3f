/**
 * Capacity: usage metering. The `usage` processor counts what arrives (on workers), the API reads
 * it back, and a leader-only loop removes usage older than the configured retention.
 */
import type { CoreContext, KeelModule, LeaderLease } from '../module/context.js';
import { pause } from '../core/pause.js';
import { runProcessor, type ProcessorRunner } from '../processing/processor.js';
import { usageRoutes } from './routes.js';
import { usageProcessor } from './usage-processor.js';
import { UsageService } from './usage-service.js';

export const USAGE_RETENTION_LEADERSHIP = 'usage-retention';

export function capacityModule(ctx: CoreContext): KeelModule {
  const usage = new UsageService(ctx.store);
  let runner: ProcessorRunner | undefined;
  return {
    name: 'capacity',
    routes: usageRoutes({ usage, clock: ctx.clock }),
    start: async () => {
      runner = runProcessor(ctx, usageProcessor());
      ctx.whileLeader(USAGE_RETENTION_LEADERSHIP, (lease) => retentionLoop(ctx, usage, lease));
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
