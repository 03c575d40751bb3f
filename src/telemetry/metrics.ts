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
  readonly logDiskBytes = new client.Gauge({
    name: 'keel_log_disk_bytes',
    help: "Bytes the retained batches take in the embedded log's segment files (compacted or as appended).",
    registers: [this.registry],
  });
  readonly logUncompactedBytes = new client.Gauge({
    name: 'keel_log_uncompacted_bytes',
    help: 'Bytes of retained batches the embedded log has not compacted yet (its compaction backlog, with the active segment).',
    registers: [this.registry],
  });
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
  readonly partitionStalled = new client.Gauge({
    name: 'keel_log_partition_stalled_seconds',
    help: 'How long a partition this worker holds has not advanced while the log holds batches beyond its position (0: it is progressing or caught up).',
    labelNames: ['consumer', 'partition'] as const,
    registers: [this.registry],
  });
  readonly retentionDeleted = new client.Counter({
    name: 'keel_log_retention_deleted_batches_total',
    help: 'Batches removed by log retention.',
    registers: [this.registry],
  });
  readonly compactedBytes = new client.Counter({
    name: 'keel_log_compacted_bytes_total',
    help: 'Embedded log compaction: NDJSON bytes of the batches compacted (form="ndjson") and the bytes they take compacted (form="stored").',
    labelNames: ['form'] as const,
    registers: [this.registry],
  });
  readonly compactionCpu = new client.Counter({
    name: 'keel_log_compaction_cpu_seconds_total',
    help: 'CPU time the embedded log compactor thread spent encoding segments.',
    registers: [this.registry],
  });
  readonly compactionDeferred = new client.Gauge({
    name: 'keel_log_compaction_deferred',
    help: '1 while the embedded log compactor waits because Keel is short of CPU (its threads use half the cores or wait for one; the backlog under log.compactionMaxBacklog), else 0.',
    registers: [this.registry],
  });
  readonly compactionMaxBacklog = new client.Gauge({
    name: 'keel_log_compaction_max_backlog_bytes',
    help: 'log.compactionMaxBacklog: above this keel_log_uncompacted_bytes the embedded log compacts whatever the load (0 with compaction off or never deferred).',
    registers: [this.registry],
  });
  readonly compactionFailures = new client.Counter({
    name: 'keel_log_compaction_failures_total',
    help: 'Segments the embedded log compactor could not compact (they stay as appended and readable).',
    registers: [this.registry],
  });
  readonly overloaded = new client.Gauge({
    name: 'keel_ingest_overloaded',
    help: '1 while ingest refuses appends (log over its disk or lag limit), else 0.',
    registers: [this.registry],
  });

  readonly dependencyUp = new client.Gauge({
    name: 'keel_dependency_up',
    help: '1 while this process reaches the dependency (checked at scrape time), else 0.',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });
  readonly scrapeStale = new client.Gauge({
    name: 'keel_scrape_stale',
    help: '1 while the metrics refreshed by this source show last-known values (its refresh failed or did not finish in time), else 0.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly scrapeLastSuccess = new client.Gauge({
    name: 'keel_scrape_last_success_timestamp_seconds',
    help: 'When the metrics of this source were last refreshed (Unix time).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  /**
   * Cumulative time the event loop was running (not waiting for I/O or timers), from
   * `performance.eventLoopUtilization()`: `rate()` of it is the loop's utilisation, and at 1 the
   * process can go no faster. The CPU time of the main thread reads lower than this when the
   * thread waits for a core or in a system call (fsync) while the loop is busy.
   */
  private eventLoopActiveMs = 0;
  readonly eventLoopActive = new client.Counter({
    name: 'keel_event_loop_active_seconds_total',
    help: 'Time the main thread’s event loop spent running rather than waiting for I/O or timers; rate() of it is the loop’s utilisation (1: saturated, this process can go no faster).',
    registers: [this.registry],
    collect: () => {
      const active = performance.eventLoopUtilization().active;
      if (active > this.eventLoopActiveMs) this.eventLoopActive.inc((active - this.eventLoopActiveMs) / 1000);
      this.eventLoopActiveMs = active;
    },
  });

  constructor(
    /** A scrape answers within about this long, whatever is down: slower sources keep their last values, marked stale. */
    private readonly scrapeBudgetMs = 750,
  ) {
    client.collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Registers a callback that refreshes gauges just before each scrape. `source` names it in
   * `keel_scrape_stale`. Callbacks should compute before they reset a gauge, so that a failure
   * leaves the last-known values in place.
   */
  onScrape(source: string, fn: () => Promise<void> | void): void {
    this.sources.push({ name: source, fn });
  }

  /** A dependency whose reachability `keel_dependency_up` shows: `probe` throws (or takes too long) when it is down. */
  dependency(name: string, probe: () => Promise<void> | void): void {
    this.dependencies.push({ name, fn: probe });
  }

  private readonly sources: Task[] = [];
  private readonly dependencies: Task[] = [];
  /** Told once per failing streak of a source (for a log line), not at every scrape. */
  onSourceFailure: (source: string, err: Error) => void = () => undefined;

  /**
   * Refreshes every source and probes every dependency in parallel, each bounded by the scrape
   * budget: a source that fails or is still running (a query to a PostgreSQL that is down, a
   * request to a NATS that does not answer) keeps its last values and is marked stale, so the
   * metrics that show an outage (`keel_nats_connected`, `keel_cluster_leader`, ...) are there
   * exactly when they are needed.
   */
  async render(): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<Error>((resolve) => {
      timer = setTimeout(() => resolve(new Error(`took longer than ${this.scrapeBudgetMs} ms`)), this.scrapeBudgetMs);
    });
    // One run at a time per task: a scrape while the last run still hangs does not start another.
    // Scrapes wait for it through a waiter list that each scrape leaves when its budget is spent,
    // never through a reaction of their own on the run: racing the run itself added a reaction per
    // scrape to a promise that, for a source that hangs, never settles (memory kept forever).
    const outcome = (t: Task): Promise<Error | undefined> => {
      if (!t.running) {
        const waiters = new Set<(r: Error | undefined) => void>();
        t.running = { waiters };
        void (async () => t.fn())()
          .then(() => undefined)
          .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
          .then((r) => {
            t.running = undefined;
            for (const w of waiters) w(r);
          });
      }
      const { waiters } = t.running;
      return new Promise<Error | undefined>((resolve) => {
        const done = (r: Error | undefined) => {
          waiters.delete(done);
          resolve(r);
        };
        waiters.add(done);
        void budget.then(done);
      });
    };
    await Promise.all([
      ...this.sources.map(async (s) => {
        const err = await outcome(s);
        this.scrapeStale.set({ source: s.name }, err ? 1 : 0);
        if (!err) this.scrapeLastSuccess.set({ source: s.name }, Date.now() / 1000);
        else if (!s.failing) this.onSourceFailure(s.name, err);
        s.failing = err !== undefined;
      }),
      ...this.dependencies.map(async (d) => this.dependencyUp.set({ dependency: d.name }, (await outcome(d)) ? 0 : 1)),
    ]);
    clearTimeout(timer);
    return this.registry.metrics();
  }
}

interface Task {
  name: string;
  fn: () => Promise<void> | void;
  /** The run in flight, and the scrapes waiting for it. */
  running?: { waiters: Set<(r: Error | undefined) => void> } | undefined;
  failing?: boolean;
}
