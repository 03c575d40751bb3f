/**
 * The audit log's routes, and a periodic log line with the chain's head: shipped to an outside log
 * store, those lines are anchors that reveal entries removed from the end of the chain. At start
 * and every minute, requests a stopped process left unfinished become entries (audit-log.ts).
 */
import type { CoreContext, KeelModule } from '../module/context.js';
import { AuditQuery } from './audit-query.js';
import { auditRoutes } from './routes.js';

const HEAD_LOG_INTERVAL_MS = 3_600_000;
/** Requests noted this long ago and still unfinished died with their process (handlers time out in seconds). */
const INTERRUPTED_AFTER_MS = 15 * 60_000;
const SETTLE_INTERVAL_MS = 60_000;

export function auditModule(ctx: CoreContext): KeelModule {
  const query = new AuditQuery(ctx.store);
  let timer: NodeJS.Timeout | undefined;
  let settleTimer: NodeJS.Timeout | undefined;
  const settle = async (before: number) => {
    const n = await ctx.audit.settleInterrupted(before);
    if (n > 0) ctx.logger.warn({ settled: n }, 'audit: requests interrupted by a stop are recorded with an unknown outcome');
  };
  const logHead = async () => {
    const head = await query.head();
    if (head) ctx.logger.info({ audit_head: head }, 'audit chain head');
  };
  return {
    name: 'audit',
    routes: auditRoutes({ query, clock: ctx.clock }),
    start: async () => {
      // The embedded default is the only process on its store: whatever is pending was left by
      // the process before this one. Elsewhere other instances may still be working on theirs.
      await settle(ctx.store.engine === 'sqlite' ? ctx.clock.now() + 1 : ctx.clock.now() - INTERRUPTED_AFTER_MS).catch((err: unknown) =>
        ctx.logger.error({ err }, 'audit: settling interrupted requests failed'),
      );
      settleTimer = setInterval(() => void settle(ctx.clock.now() - INTERRUPTED_AFTER_MS).catch(() => undefined), SETTLE_INTERVAL_MS);
      settleTimer.unref();
      await logHead().catch(() => undefined);
      timer = setInterval(() => void logHead().catch(() => undefined), HEAD_LOG_INTERVAL_MS);
      timer.unref();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      if (settleTimer) clearInterval(settleTimer);
    },
  };
}
