/**
 * The resolved form of an SLO: its OpenSLO definition with every reference (SLI, alert policies,
 * conditions, notification targets) followed and every duration parsed. A generation stores it;
 * the aggregator, the evaluator and the status pages all work from it.
 */
import type { TimeWindow } from './windows.js';

export type BudgetingMethod = 'Occurrences' | 'Timeslices' | 'RatioTimeslices';
export type CompareOp = 'lt' | 'lte' | 'gt' | 'gte';

export type ResolvedIndicator =
  | {
      kind: 'ratio';
      /** Name of the SLI (inline or referenced). */
      name: string;
      /** CEL: which events count. */
      total: string;
      /** CEL: which of those are good (exactly one of good and bad). */
      good?: string;
      bad?: string;
    }
  | {
      kind: 'threshold';
      name: string;
      /** CEL: the measured value of an event (a number). */
      value: string;
      /** CEL: which events are measured (all when absent). */
      filter?: string;
    };

export interface ResolvedObjective {
  /** `displayName`, or `objective-<n>`. */
  name: string;
  displayName?: string;
  /** In [0, 1). */
  target: number;
  /** thresholdMetric: an event is good when `value op objective.value`. */
  op?: CompareOp;
  value?: number;
  /** Timeslices: a slice is good when its share of good events is at least this. */
  timeSliceTarget?: number;
  timeSliceMs?: number;
}

export interface ResolvedCondition {
  name: string;
  severity: string;
  op: CompareOp;
  /** Burn-rate factor. */
  threshold: number;
  longMs: number;
  shortMs: number;
  /** The condition must hold this long before the alert fires. */
  alertAfterMs: number;
}

export interface NotificationTarget {
  name: string;
  target: string;
  description?: string;
}

export interface ResolvedPolicy {
  name: string;
  /** The built-in SRE Workbook policy (used when an SLO names none). */
  builtin: boolean;
  alertWhenNoData: boolean;
  alertWhenResolved: boolean;
  alertWhenBreaching: boolean;
  /** Floor of bad events per window; the configured default when absent. */
  minBadEvents?: number;
  conditions: ResolvedCondition[];
  notificationTargets: NotificationTarget[];
}

export interface ResolvedSlo {
  name: string;
  displayName?: string;
  description?: string;
  service: string;
  indicator: ResolvedIndicator;
  window: TimeWindow;
  method: BudgetingMethod;
  objectives: ResolvedObjective[];
  /** Attribute paths (split at dots) the counts are broken down by. */
  breakdown: string[][];
  policies: ResolvedPolicy[];
}

export const OTHER = '__other__';
export const MAX_BREAKDOWN_ATTRIBUTES = 3;
