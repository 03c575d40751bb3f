/**
 * Verification that spans domains: `keel verify counts` (usage and SLO counters against the
 * readable event log). Routes only; no tables, no background work.
 */
import type { CoreContext, KeelModule } from '../module/context.js';
import { verifyRoutes } from './routes.js';
import { VerifyCountsService } from './verify-counts.js';

export function verifyModule(ctx: CoreContext): KeelModule {
  const verify = new VerifyCountsService({ log: ctx.log, store: ctx.store, usageRetentionMs: ctx.config.capacity.usageRetention });
  return { name: 'verify', routes: verifyRoutes({ verify, now: () => ctx.clock.now() }) };
}
