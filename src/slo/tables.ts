import type { Generated } from 'kysely';

/**
 * The SLO engine's tables. An SLO definition (in `definitions`) is counted by a *generation*: a
 * compiled, resolved form of it. A change that alters what is counted (filters, objectives,
 * breakdown, budgeting method) starts a new generation, backfilled from the retained log, while
 * the old one is retired and pruned; a change that does not (targets, names, alert policies) keeps
 * the generation and its counters.
 */
export interface SloGenerationsTable {
  uid: string;
  tenant_id: string;
  slo_name: string;
  /** Hash of everything that decides what is counted. */
  fingerprint: string;
  /** JSON of the resolved SLO (`ResolvedSlo`): indicator, objectives, policies. */
  plan_json: string;
  /** `backfilling`, `ready` or `retired`. */
  status: string;
  /** 1 for the generation that serves the SLO now. */
  current: number;
  created_at: number;
  backfill_started_at: number | null;
  backfill_finished_at: number | null;
  /** Events folded in by the backfill so far. */
  backfill_events: number;
  retired_at: number | null;
}

/**
 * Where the live aggregator takes over from the backfill, per log partition: batches at or below
 * `live_from` are the backfill's, batches above it the aggregator's. `cursor` is the backfill's own
 * committed position (committed with the counters it wrote).
 */
export interface SloBackfillPartitionsTable {
  gen_uid: string;
  partition: number;
  live_from: number;
  /** Position before the first batch the backfill read (for progress). */
  origin: number;
  cursor: number;
  done: number;
}

/** One counted stream: an objective of a generation, overall (`breakdown` = '') or for one breakdown value combination. */
export interface SloSeriesTable {
  id: Generated<number>;
  gen_uid: string;
  objective: number;
  /** JSON array of the breakdown values, '' for the SLO as a whole, `["__other__"]` for the overflow. */
  breakdown: string;
}

/** Event counters per series, by event time, at 10 s, 1 min, 1 h and 1 day resolution (`res` in seconds). */
export interface SloCountsTable {
  series_id: number;
  res: number;
  /** Bucket start, epoch ms. */
  bucket: number;
  good: number;
  total: number;
}

/** Events per time slice (Timeslices / RatioTimeslices), keyed by slice start. */
export interface SloSlicesTable {
  series_id: number;
  bucket: number;
  good: number;
  total: number;
}

/** Slice verdicts rolled up per hour and day, so a window of slices sums a few rows. */
export interface SloSliceRollupsTable {
  series_id: number;
  res: number;
  bucket: number;
  good_slices: number;
  total_slices: number;
  /** Sum of the slices' good/total ratios (RatioTimeslices). */
  ratio_sum: number;
}

/** Small counters: `version` (bumped on every change the aggregator must see) and `lock:<partition>` rows. */
export interface SloMetaTable {
  key: string;
  value: number;
}

/** The state of each burn-rate alert: one row per SLO, objective, policy and severity. */
export interface SloAlertStateTable {
  tenant_id: string;
  slo_name: string;
  /** Objective index, policy name and severity, joined: the alert's identity within the SLO. */
  alert_key: string;
  objective: number;
  policy: string;
  severity: string;
  status: string;
  /** When the current status began. */
  since: number;
  /** JSON: per condition name, when it started to hold (for `alertAfter`). */
  pending_json: string;
  /** JSON: the values of the last evaluation. */
  values_json: string;
  updated_at: number;
}

/** Every alert transition with the values that caused it. */
export interface SloAlertHistoryTable {
  id: Generated<number>;
  tenant_id: string;
  slo_name: string;
  alert_key: string;
  status: string;
  at: number;
  values_json: string;
}

export interface SloTables {
  slo_generations: SloGenerationsTable;
  slo_backfill_partitions: SloBackfillPartitionsTable;
  slo_series: SloSeriesTable;
  slo_counts: SloCountsTable;
  slo_slices: SloSlicesTable;
  slo_slice_rollups: SloSliceRollupsTable;
  slo_meta: SloMetaTable;
  slo_alert_state: SloAlertStateTable;
  slo_alert_history: SloAlertHistoryTable;
}
