/**
 * Ingest: the parse threads, the ingest service and its routes. Processes that neither ingest nor
 * serve the API (a worker or evaluator only) build nothing here.
 */
import type { KeelConfig } from '../core/config.js';
import type { CoreContext, KeelModule } from '../module/context.js';
import { InlineParser, ThreadedParser, type BatchParser } from './batch-parser.js';
import { IngestService } from './ingest-service.js';
import type { IngestLimits } from './limits.js';
import type { QuotaGate } from './quotas.js';
import { ingestRoutes } from './routes.js';
import { availableParallelism } from 'node:os';

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

export interface IngestModule extends KeelModule {
  /** Undefined in a process without the ingest or api role. */
  ingest?: IngestService;
}

export function ingestModule(ctx: CoreContext, deps: { quotas: QuotaGate }): IngestModule {
  const { config, roles, log, tenants, metrics, clock, bus } = ctx;
  if (!roles.ingest && !roles.api) return { name: 'ingest' };
  const limits = ingestLimits(config);
  const threads = config.ingest.parseThreads ?? defaultParseThreads();
  // Threads start here, when the module is built: a start that fails later closes them through stop().
  const parser: BatchParser = threads > 0 ? new ThreadedParser(threads, limits) : new InlineParser(limits);
  const ingest = new IngestService({ log, tenants, quotas: deps.quotas, parser, limits, metrics, clock, bus });
  return {
    name: 'ingest',
    ingest,
    servedByEveryRole: true,
    routes: ingestRoutes({ ingest, log, limits, metrics, clock }),
    stop: () => parser.close(),
  };
}
