/**
 * The audit log's routes, and a periodic log line with the chain's head: shipped to an outside log
 * store, those lines are anchors that reveal entries removed from the end of the chain.
 */
import type { CoreContext, KeelModule } from '../core/context.js';
import { AuditQuery } from './audit-query.js';
import { auditRoutes } from './routes.js';

const HEAD_LOG_INTERVAL_MS = 3_600_000;

export function auditModule(ctx: CoreContext): KeelModule {
  const query = new AuditQuery(ctx.store);
  let timer: NodeJS.Timeout | undefined;
  const logHead = async () => {
    const head = await query.head();
    if (head) ctx.logger.info({ audit_head: head }, 'audit chain head');
  };
  return {
    name: 'audit',
    routes: auditRoutes({ query, clock: ctx.clock }),
    start: async () => {
      await logHead().catch(() => undefined);
      timer = setInterval(() => void logHead().catch(() => undefined), HEAD_LOG_INTERVAL_MS);
      timer.unref();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
    },
  };
}
