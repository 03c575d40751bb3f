/**
 * Keel's own Prometheus metrics. One registry per running instance (tests run several in one
 * process); gauges about the log are computed at scrape time.
 */
import client from 'prom-client';

export class KeelMetrics {
  readonly registry = new client.Registry();

  readonly ingestEvents = new client.Counter({
    name: 'keel_ingest_events_total',
    help: 'Events received by ingest, by tenant and outcome (accepted, or rejected with the reason).',
    labelNames: ['tenant', 'outcome', 'reason'] as const,
    registers: [this.registry],
  });

  readonly ingestRequests = new client.Counter({
    name: 'keel_ingest_requests_total',
    help: 'Ingest requests by tenant and HTTP status.',
    labelNames: ['tenant', 'status'] as const,
    registers: [this.registry],
  });

  readonly ingestBytes = new client.Counter({
    name: 'keel_ingest_bytes_total',
    help: 'Bytes of request bodies received by ingest (after gzip is undone).',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new client.Histogram({
    name: 'keel_http_request_duration_seconds',
    help: 'HTTP request latency by route, method and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly commitGroupRequests = new client.Histogram({
    name: 'keel_log_commit_group_requests',
    help: 'Requests acknowledged by one group commit of the event log.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  readonly commitGroupEvents = new client.Histogram({
    name: 'keel_log_commit_group_events',
    help: 'Events made durable by one group commit of the event log.',
    buckets: [1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000],
    registers: [this.registry],
  });

  readonly logBytes = new client.Gauge({ name: 'keel_log_bytes', help: 'Bytes of event data retained in the log.', registers: [this.registry] });
  readonly logBatches = new client.Gauge({ name: 'keel_log_batches', help: 'Batches retained in the log.', registers: [this.registry] });
  readonly logEvents = new client.Gauge({
    name: 'keel_log_events_appended',
    help: 'Events appended to the log since it was created.',
    registers: [this.registry],
  });
  readonly consumerLag = new client.Gauge({
    name: 'keel_log_consumer_lag_events',
    help: 'Events appended to the log after the consumer’s committed position.',
    labelNames: ['consumer', 'partition'] as const,
    registers: [this.registry],
  });
  readonly retentionDeleted = new client.Counter({
    name: 'keel_log_retention_deleted_batches_total',
    help: 'Batches removed by log retention.',
    registers: [this.registry],
  });
  readonly overloaded = new client.Gauge({
    name: 'keel_ingest_overloaded',
    help: '1 while ingest refuses appends (log over its disk or lag limit), else 0.',
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
  }

  /** Registers a callback that refreshes gauges just before each scrape. */
  onScrape(fn: () => Promise<void> | void): void {
    this.scrapeHooks.push(fn);
  }

  private readonly scrapeHooks: (() => Promise<void> | void)[] = [];

  async render(): Promise<string> {
    for (const fn of this.scrapeHooks) await fn();
    return this.registry.metrics();
  }
}
