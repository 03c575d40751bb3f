/**
 * Composition of the embedded default: every role in one process, SQLite for the log and the
 * state. Opens the adapters and hands them to the shared composition (compose.ts).
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AnyRoute } from '../api/route.js';
import { ShutdownSteps } from '../core/shutdown.js';
import { embeddedFacts } from '../cluster/doctor.js';
import { LocalLeadership, newHolderId } from '../cluster/leadership.js';
import { Bus } from '../core/bus.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { KeelConfig } from '../core/config.js';
import type { CoreContext } from '../module/context.js';
import { LocalQuotas } from '../ingest/quotas.js';
import { SqliteEventLog } from '../log/sqlite/sqlite-event-log.js';
import { openSqliteStore, type Store } from '../store/store.js';
import { preparePrivateDataDir } from './data-dir.js';
import type { Logger } from '../telemetry/logger.js';
import { KeelMetrics } from '../telemetry/metrics.js';
import { ALL_ROLES, composeKeel } from './compose.js';

import type { DomainModules } from './modules.js';

export interface KeelInstance {
  app: FastifyInstance;
  ctx: CoreContext;
  /** The domain modules: typed handles for tests (`modules.paging.consumer`). */
  modules: DomainModules;
  /** Every route the server serves (the security route walk enumerates them). */
  routes: AnyRoute[];
  store: Store;
  log: SqliteEventLog;
  metrics: KeelMetrics;
  /** http://host:port once listening. */
  url: string;
  /** The admin key created on first start, if this start created one. */
  bootstrapKey?: { adminKey: string; generated: boolean };
  /** Stops everything; `steps` names what it waits for (the caller bounds it: server.shutdownTimeout). */
  close(steps?: ShutdownSteps): Promise<void>;
}

export interface StartOptions {
  config: KeelConfig;
  logger: Logger;
  clock?: Clock;
  bootstrapKey?: string;
  /** Listen (default true); tests may use `app.inject` instead. */
  listen?: boolean;
}

export async function startEmbedded(opts: StartOptions): Promise<KeelInstance> {
  // Whatever opened before a startup failure is closed again, so a refused start exits cleanly.
  const opened: (() => Promise<void>)[] = [];
  try {
    return await build(opts, opened);
  } catch (e) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw e;
  }
}

async function build(opts: StartOptions, opened: (() => Promise<void>)[]): Promise<KeelInstance> {
  const { config, logger } = opts;
  const clock = opts.clock ?? systemClock;
  preparePrivateDataDir(config.dataDir);
  const metrics = new KeelMetrics();
  const bus = new Bus((event, err) => logger.error({ err, event }, 'bus listener failed'));
  const store = await openSqliteStore(join(config.dataDir, 'state.db'));
  opened.push(() => store.close());
  const log = await SqliteEventLog.open({
    path: join(config.dataDir, 'log.db'),
    groupCommitDelayMs: config.log.groupCommitDelay,
    limits: { maxBytes: config.log.maxBytes, minFreeDiskBytes: config.log.minFreeDisk, maxLagEvents: config.log.maxLagEvents },
    onCommitGroup: (g) => {
      metrics.commitGroupRequests.observe(g.requests);
      metrics.commitGroupEvents.observe(g.events);
    },
    compress: config.log.compress,
    compactionMaxBacklogBytes: config.log.compactionMaxBacklog,
    onCompaction: (e) => {
      if (e.op === 'compactionGate') {
        metrics.compactionDeferred.set(e.deferred ? 1 : 0);
        const percent = (x: number | null) => (x === null ? undefined : Math.round(x * 100));
        logger.info(
          { cpuPercentOfCores: percent(e.share), waitingThreadPercent: percent(e.wait), uncompactedBytes: e.uncompactedBytes },
          e.deferred ? 'log compaction waits: Keel is short of CPU' : 'log compaction resumes',
        );
        return;
      }
      if (e.ok) {
        metrics.compactedBytes.inc({ form: 'ndjson' }, e.bytes);
        metrics.compactedBytes.inc({ form: 'stored' }, e.stored);
        metrics.compactionCpu.inc(e.cpuMs / 1000);
        logger.debug({ segment: e.segment, batches: e.batches, bytes: e.bytes, stored: e.stored, cpuMs: e.cpuMs }, 'log segment compacted');
        return;
      }
      metrics.compactionFailures.inc();
      logger.error({ segment: e.segment, error: e.error }, 'log segment compaction failed; the segment stays as appended');
    },
  });
  opened.push(() => log.close());
  if (config.log.compress) metrics.compactionMaxBacklog.set(config.log.compactionMaxBacklog);

  const keel = await composeKeel({
    config,
    logger,
    clock,
    store,
    log,
    bus,
    metrics,
    roles: ALL_ROLES,
    leadership: new LocalLeadership(newHolderId('all'), logger),
    quotas: new LocalQuotas(config.quota, clock),
    ...(opts.bootstrapKey !== undefined ? { bootstrapKey: opts.bootstrapKey } : {}),
    readiness: [{ name: 'state_store', check: () => store.ping() }],
    logReadiness: true,
    cluster: { facts: () => embeddedFacts({ log, config }) },
    ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
  });
  opened.push(() => keel.close());

  const sweep = async () => {
    try {
      const r = await log.sweep({
        now: clock.now(),
        maxAgeMs: config.log.retention.maxAge,
        maxBytes: config.log.retention.maxBytes,
        idempotencyTtlMs: config.idempotency.ttl,
      });
      if (r.deletedBatches > 0) metrics.retentionDeleted.inc(r.deletedBatches);
      if (r.heldByConsumer) logger.warn('log retention is held back by a consumer that has not caught up');
    } catch (err) {
      logger.error({ err }, 'log retention sweep failed');
    }
  };
  const sweeper = setInterval(() => void sweep(), config.log.sweepInterval);
  sweeper.unref();

  let closed = false;
  return {
    app: keel.app,
    ctx: keel.ctx,
    modules: keel.modules,
    routes: keel.routes,
    store,
    log,
    metrics,
    url: keel.url,
    ...(keel.bootstrapKey ? { bootstrapKey: keel.bootstrapKey } : {}),
    close: async (steps = new ShutdownSteps()) => {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      await keel.close(steps);
      await steps.step('event log', () => log.close());
      await steps.step('store', () => store.close());
    },
  };
}
