/**
 * Burn-rate alert rules (pure). A condition holds when the burn rate compares with its threshold
 * over both its long and its short window and, for rising thresholds, each window has at least the
 * floor of bad events (so one error on a quiet service does not page). A condition that holds for
 * `alertAfter` is active; an alert (objective × policy × severity) fires while any of its
 * conditions is active.
 */
import { formatDuration } from './durations.js';
import { burnRate } from './math.js';
import type { Measured } from './measure.js';
import type { CompareOp, ResolvedPolicy } from './model.js';

export interface WindowValues {
  window: string;
  burnRate: number;
  badEvents: number;
  totalEvents: number;
}

export interface ConditionResult {
  name: string;
  severity: string;
  op: CompareOp;
  threshold: number;
  minBadEvents: number;
  long: WindowValues;
  short: WindowValues;
  breaching: boolean;
  noData: boolean;
  holds: boolean;
  /** When the condition started to hold (for alertAfter); null when it does not. */
  pendingSince: number | null;
  active: boolean;
}

function compare(v: number, op: CompareOp, t: number): boolean {
  return op === 'gt' ? v > t : op === 'gte' ? v >= t : op === 'lt' ? v < t : v <= t;
}

export function windowValues(ms: number, m: Measured | undefined, target: number): WindowValues {
  const units = m?.units ?? { good: 0, total: 0 };
  const events = m?.events ?? { good: 0, total: 0 };
  return { window: formatDuration(ms), burnRate: burnRate(units, target), badEvents: events.total - events.good, totalEvents: events.total };
}

export function evaluatePolicy(
  policy: ResolvedPolicy,
  target: number,
  measured: (ms: number) => Measured | undefined,
  now: number,
  pending: Record<string, number>,
  defaultMinBadEvents: number,
): ConditionResult[] {
  const floor = policy.minBadEvents ?? defaultMinBadEvents;
  return policy.conditions.map((c) => {
    const long = windowValues(c.longMs, measured(c.longMs), target);
    const short = windowValues(c.shortMs, measured(c.shortMs), target);
    const rising = c.op === 'gt' || c.op === 'gte';
    const breaching =
      long.totalEvents > 0 &&
      short.totalEvents > 0 &&
      compare(long.burnRate, c.op, c.threshold) &&
      compare(short.burnRate, c.op, c.threshold) &&
      (!rising || (long.badEvents >= floor && short.badEvents >= floor));
    const noData = long.totalEvents === 0;
    const holds = (policy.alertWhenBreaching && breaching) || (policy.alertWhenNoData && noData);
    const pendingSince = holds ? (pending[c.name] ?? now) : null;
    return {
      name: c.name,
      severity: c.severity,
      op: c.op,
      threshold: c.threshold,
      minBadEvents: floor,
      long,
      short,
      breaching,
      noData,
      holds,
      pendingSince,
      active: holds && now - pendingSince! >= c.alertAfterMs,
    };
  });
}

/** The alerts of a policy: one per severity, firing while any of its conditions is active. */
export function alertsOf(results: ConditionResult[]): Map<string, { firing: boolean; conditions: ConditionResult[] }> {
  const out = new Map<string, { firing: boolean; conditions: ConditionResult[] }>();
  for (const r of results) {
    const a = out.get(r.severity) ?? { firing: false, conditions: [] };
    a.conditions.push(r);
    a.firing ||= r.active;
    out.set(r.severity, a);
  }
  return out;
}

/** Condition severities that page: a policy with one also watches for its events stopping. */
const PAGING_SEVERITIES = ['page', 'critical'];

/**
 * The window a policy's no-data alert looks at: that of its shortest paging condition (1 h for
 * the default policy), or null when the policy does not page, or when its conditions already
 * alert on no data (`alertWhenNoData: true`).
 */
export function noDataWindow(policy: ResolvedPolicy): number | null {
  if (policy.alertWhenNoData) return null;
  const windows = policy.conditions.filter((c) => PAGING_SEVERITIES.includes(c.severity)).map((c) => c.longMs);
  return windows.length ? Math.min(...windows) : null;
}

/**
 * Events stopped: none in the watched window, though the SLO's window has some (it was not always
 * silent), or the alert already fires: a silence that outlasts the SLO window is still a silence,
 * and resolving it then would say "events arrive again" while none do.
 */
export function eventsStopped(inWindow: number, inSloWindow: number, firing = false): boolean {
  return inWindow === 0 && (inSloWindow > 0 || firing);
}
