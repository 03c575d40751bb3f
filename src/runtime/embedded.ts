/**
 * Composition of the embedded default: every role in one process, SQLite for the log and the
 * state. Wires adapters to domain services and domain modules to the server; holds no logic.
 */
import { availableParallelism } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AlertService } from '../alerting/alert-service.js';
import type { AnyRoute } from '../api/route.js';
import { buildServer } from '../api/server.js';
import { AuditLog } from '../audit/audit-log.js';
import { ApiKeyService } from '../auth/api-keys.js';
import { authenticatorOf } from '../auth/module.js';
import { bootstrap } from '../auth/bootstrap.js';
import { authRoutes } from '../auth/routes.js';
import { TenantService } from '../auth/tenants.js';
import { Bus } from '../core/bus.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { KeelConfig } from '../core/config.js';
import type { CoreContext, KeelModule } from '../core/context.js';
import { DefinitionsService } from '../definitions/definitions-service.js';
import { KindRegistry } from '../definitions/kinds.js';
import { definitionRoutes } from '../definitions/routes.js';
import { InlineParser, ThreadedParser, type BatchParser } from '../ingest/batch-parser.js';
import { IngestService } from '../ingest/ingest-service.js';
import type { IngestLimits } from '../ingest/limits.js';
import { LocalQuotas } from '../ingest/quotas.js';
import { ingestRoutes } from '../ingest/routes.js';
import { PeopleService } from '../people/people-service.js';
import { SqliteEventLog } from '../log/sqlite/sqlite-event-log.js';
import { openSqliteStore, type Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import { KeelMetrics } from '../telemetry/metrics.js';
import { telemetryRoutes } from '../telemetry/routes.js';
import { domainModules } from './modules.js';
import { loadKeyring } from './secret-key.js';
import { SealedColumns } from '../core/sealed-columns.js';
import { VERSION } from './version.js';

export interface KeelInstance {
  app: FastifyInstance;
  ctx: CoreContext;
  /** Every route the server serves (the route-walk test enumerates them). */
  routes: AnyRoute[];
  store: Store;
  log: SqliteEventLog;
  metrics: KeelMetrics;
  /** http://host:port once listening. */
  url: string;
  /** The admin key created on first start, if this start created one. */
  bootstrapKey?: { adminKey: string; generated: boolean };
  close(): Promise<void>;
}

export interface StartOptions {
  config: KeelConfig;
  logger: Logger;
  clock?: Clock;
  bootstrapKey?: string;
  /** Listen (default true); tests may use `app.inject` instead. */
  listen?: boolean;
}

export function ingestLimits(config: KeelConfig): IngestLimits {
  return {
    maxEventBytes: config.ingest.maxEventBytes,
    maxRequestBytes: config.ingest.maxRequestBytes,
    maxEventsPerRequest: config.ingest.maxEventsPerRequest,
    maxFutureSkewMs: config.ingest.maxFutureSkew,
    maxDepth: config.ingest.maxDepth,
    maxIdLength: 256,
  };
}

/**
 * Parse threads: one per core, at most 4 (0 parses on the main thread). The main thread mostly
 * waits on sockets and the writer thread on fsync, so parsing gets every core: measured on 2 cores,
 * 2 parse threads ingest 562k events/s against 419k with 1 (BENCHMARKS.md).
 */
export function defaultParseThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
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
  mkdirSync(config.dataDir, { recursive: true });
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
  });
  opened.push(() => log.close());

  const tenants = new TenantService(store, clock);
  const keys = new ApiKeyService(store, tenants, clock);
  const audit = new AuditLog(store, clock);
  const boot = await bootstrap(tenants, keys, opts.bootstrapKey);
  if (boot) {
    await audit.record({ actor: 'system', action: 'keys.bootstrap', tenant: 'default', target: 'key/bootstrap', after: { scopes: ['admin'] } });
  }
  const kinds = new KindRegistry();
  const keyring = loadKeyring(config);
  const ctx: CoreContext = {
    config,
    logger,
    clock,
    store,
    log,
    bus,
    metrics,
    tenants,
    keys,
    audit,
    people: new PeopleService(store, clock),
    alerts: new AlertService(store, clock, bus),
    kinds,
    definitions: new DefinitionsService(store, kinds, clock, bus),
    secrets: keyring.box,
    keyring,
    sealed: new SealedColumns(),
    roles: { ingest: true, worker: true, evaluator: true, api: true },
    whileLeader: (_name, fn) => {
      void fn();
    },
  };

  const limits = ingestLimits(config);
  const threads = config.ingest.parseThreads ?? defaultParseThreads();
  const parser: BatchParser = threads > 0 ? new ThreadedParser(threads, limits) : new InlineParser(limits);
  opened.push(() => parser.close());
  const quotas = new LocalQuotas(config.quota, clock);
  const ingest = new IngestService({ log, tenants, quotas, parser, limits, metrics, clock, bus });

  metrics.onScrape(async () => {
    const s = await log.stats();
    metrics.logBytes.set(s.bytes);
    metrics.logBatches.set(s.batches);
    metrics.logEvents.set(s.events);
    metrics.consumerLag.reset();
    for (const c of s.consumers) metrics.consumerLag.set({ consumer: c.name, partition: String(c.partition) }, c.lagEvents);
    metrics.overloaded.set(log.health().overloaded ? 1 : 0);
  });

  const modules: KeelModule[] = domainModules(ctx);
  const routes = [
    ...telemetryRoutes({
      metrics,
      log,
      version: VERSION,
      checks: [{ name: 'state_store', check: () => store.ping() }, ...modules.flatMap((m) => m.readiness ?? [])],
    }),
    ...ingestRoutes({ ingest, log, limits, metrics }),
    ...authRoutes({ keys, tenants, quotaDefaults: config.quota }),
    ...definitionRoutes({ definitions: ctx.definitions }),
    ...modules.flatMap((m) => m.routes ?? []),
  ];
  const app = buildServer({
    auth: authenticatorOf(modules),
    audit,
    metrics,
    logger,
    routes,
    version: VERSION,
    requestTimeoutMs: config.server.requestTimeout,
    bodyLimit: config.security.maxBodyBytes,
    handlerTimeoutMs: config.security.handlerTimeout,
    corsOrigins: config.security.cors.origins,
    ...(config.server.tls ? { tls: config.server.tls } : {}),
  });

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

  for (const m of modules) {
    await m.start?.();
    opened.push(async () => m.stop?.());
  }
  opened.push(() => app.close());

  let url = '';
  if (opts.listen !== false) {
    url = await app.listen({ host: config.server.host, port: config.server.port });
  } else {
    await app.ready();
  }

  let closed = false;
  return {
    app,
    ctx,
    routes,
    store,
    log,
    metrics,
    url,
    ...(boot ? { bootstrapKey: boot } : {}),
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      await app.close();
      for (const m of [...modules].reverse()) await m.stop?.();
      await parser.close();
      await log.close();
      await store.close();
    },
  };
}
