/** Usage metering: events and bytes per tenant per minute of arrival. */
export interface UsageMinutesTable {
  tenant_id: string;
  /** Start of the minute (epoch ms) in which Keel received the events. */
  minute: number;
  /**
   * The log partition the events came from. Each partition's worker writes its own rows, so
   * concurrent transactions of different partitions never wait on one hot counter row (measured:
   * 8 partitions on one tenant/minute row serialised to one commit at a time); reads sum them.
   */
  partition: number;
  events: number;
  bytes: number;
}

/**
 * History of every tracked limit, sampled by the leader. `res` 0 is a raw sample (every
 * capacity.sampleInterval, kept capacity.rawRetention); older raw samples are rolled up into one
 * row per hour (`res` 1: the hour's peak usage and its last capacity), kept capacity.hourlyRetention.
 */
export interface CapacitySamplesTable {
  limit_id: string;
  /** The tenant a limit belongs to ('' for Keel's own, system-wide limits). */
  tenant_id: string;
  at: number;
  res: number;
  usage: number;
  /** null: the limit has no known capacity (tracked, not forecast). */
  capacity: number | null;
}

export interface CapacityTables {
  usage_minutes: UsageMinutesTable;
  capacity_samples: CapacitySamplesTable;
  daily_quotas: DailyQuotasTable;
  daily_quota_usage: DailyQuotaUsageTable;
  capacity_limits: CapacityLimitsTable;
  limit_minutes: LimitMinutesTable;
  capacity_bench_results: BenchResultsTable;
}

/** A tenant's daily volume quota (events per UTC day), besides its rate quota. */
export interface DailyQuotasTable {
  tenant_id: string;
  events_per_day: number;
  updated_at: number;
}

/**
 * Events charged against the daily quota per tenant and UTC day, shared by every ingest
 * instance. Instances lease chunks (charged here when leased, given back when unused), so the
 * sum accepted never passes the quota.
 */
export interface DailyQuotaUsageTable {
  tenant_id: string;
  day: number;
  used: number;
}

/** `Limit` definitions (keel apply), kept here by the kind's onChange for the processor and sampler. */
export interface CapacityLimitsTable {
  tenant_id: string;
  name: string;
  /** The normalised spec (JSON). */
  spec: string;
  updated_at: number;
}

/**
 * Per-minute aggregates of a `Limit`'s usage field (and capacity field) over the tenant's matching
 * events, by minute of arrival, written by the `limits` processor (exactly once, per partition).
 */
export interface LimitMinutesTable {
  tenant_id: string;
  name: string;
  minute: number;
  partition: number;
  n: number;
  sum: number;
  max: number;
  cap_n: number;
  cap_sum: number;
  cap_max: number | null;
}

/**
 * Ingest capacity measured by `keel bench ingest --record` on the user's own machines: the
 * node-ingest limit and the growth plan use the latest of each mode instead of BENCHMARKS.md's.
 */
export interface BenchResultsTable {
  /** embedded | distributed */
  mode: string;
  recorded_at: number;
  /** Durable events/s the bench measured for one node (distributed: the machine that ran every role). */
  events_per_s: number;
  /** The ceiling measured in the same run (JSON.parse on one core, or raw JetStream publish). */
  ceiling_events_per_s: number;
  cores: number;
  load_average: number;
  /** Distributed: the log's partitions and the worker's CPU per 1,000 events (a partition's fold cost). */
  partitions: number | null;
  worker_cpu_ms_per_1000: number | null;
  recorded_by: string;
}
