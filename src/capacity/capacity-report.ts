/**
 * One limit's line of the capacity report, pure: utilisation now, peaks, trend, the forecast's
 * model, back-tested error and time to exhaustion with its band, and the action that would help;
 * and the ranking (soonest exhaustion first).
 */
import { DAY_MS, HOUR_MS, forecast, type Adjustment, type ModelName, type Point } from './forecast.js';
import { describeLimit, type LimitKind, type LimitReading } from './limits.js';

export interface ReportOptions {
  now: number;
  horizonMs: number;
  /** The caller chose the horizon (else a Limit's own horizon applies). */
  horizonGiven?: boolean;
  growthPerMonth?: number;
  adjustments?: readonly Adjustment[];
  model?: ModelName;
}

export type ExhaustionStatus = 'exhausted' | 'forecast' | 'not_before' | 'unknown';

export interface LimitReport {
  id: string;
  tenant: string | null;
  kind: LimitKind;
  title: string;
  unit: string;
  usage: number;
  capacity: number | null;
  /** usage / capacity (null without a capacity). */
  utilisation: number | null;
  peak: { h1: number | null; d1: number | null; d7: number | null };
  /** Change per day of the forecast's trend, in the limit's unit. */
  trendPerDay: number | null;
  model: ModelName | null;
  /** Mean absolute error of the model back-tested on the last fifth of the history (fraction of the mean). */
  backtestError: number | null;
  /** A level shift was found here; the forecast uses the history after it. */
  stepAt: string | null;
  exhaustion: {
    status: ExhaustionStatus;
    /** Central forecast (status forecast; for exhausted: now). */
    at: string | null;
    earliest: string | null;
    /** null: the late edge of the band is beyond the horizon. */
    latest: string | null;
    /** status not_before: the horizon the forecast looked to. */
    notBefore: string | null;
    secondsToExhaustion: number | null;
    /** Why there is no forecast (status unknown). */
    reason?: string;
  };
  samples: number;
  action: string;
}

/** A forecast needs this much history. */
export const MIN_HISTORY_MS = HOUR_MS;

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

function peakSince(points: readonly Point[], since: number): number | null {
  let m: number | null = null;
  for (const p of points) if (p.t >= since && (m === null || p.v > m)) m = p.v;
  return m;
}

export function limitReport(reading: LimitReading, history: readonly Point[], o: ReportOptions, user?: { title?: string; unit?: string }): LimitReport {
  const info = describeLimit(reading.id, user);
  const cap = reading.capacity;
  const base: LimitReport = {
    id: reading.id,
    tenant: reading.tenant === '' ? null : reading.tenant,
    kind: info.kind,
    title: info.title,
    unit: info.unit,
    usage: reading.usage,
    capacity: cap,
    utilisation: cap !== null && cap > 0 ? reading.usage / cap : null,
    peak: { h1: peakSince(history, o.now - HOUR_MS), d1: peakSince(history, o.now - DAY_MS), d7: peakSince(history, o.now - 7 * DAY_MS) },
    trendPerDay: null,
    model: null,
    backtestError: null,
    stepAt: null,
    exhaustion: { status: 'unknown', at: null, earliest: null, latest: null, notBefore: null, secondsToExhaustion: null },
    samples: history.length,
    action: info.action,
  };
  if (cap === null || !(cap > 0)) return { ...base, exhaustion: { ...base.exhaustion, reason: 'no capacity is known for this limit' } };
  if (reading.usage >= cap) {
    base.exhaustion = { status: 'exhausted', at: iso(o.now), earliest: iso(o.now), latest: iso(o.now), notBefore: null, secondsToExhaustion: 0 };
  }
  const span = history.length > 0 ? history[history.length - 1]!.t - history[0]!.t : 0;
  if (history.length < 3 || span < MIN_HISTORY_MS) {
    if (base.exhaustion.status === 'exhausted') return base;
    // Days ahead from seconds of history is noise, not a forecast.
    const reason = history.length < 3 ? `${history.length} samples so far; a forecast needs 3` : `the history spans ${Math.round(span / 60_000)} min; a forecast needs an hour`;
    return { ...base, exhaustion: { ...base.exhaustion, reason } };
  }
  const f = forecast(history, {
    now: o.now,
    capacity: cap,
    horizonMs: o.horizonMs,
    ...(o.model ? { model: o.model } : {}),
    ...(o.growthPerMonth !== undefined ? { growthPerMonth: o.growthPerMonth } : {}),
    ...(o.adjustments ? { adjustments: o.adjustments } : {}),
  });
  base.trendPerDay = f.trendPerDay;
  base.model = f.fit.model;
  base.backtestError = f.backtestError;
  base.stepAt = iso(f.fit.stepAt);
  if (base.exhaustion.status === 'exhausted') return base;
  const ex = f.exhaustion;
  if (ex.kind === 'already') {
    base.exhaustion = { status: 'exhausted', at: iso(ex.at), earliest: iso(ex.at), latest: iso(ex.at), notBefore: null, secondsToExhaustion: 0 };
  } else if (ex.kind === 'at') {
    base.exhaustion = { status: 'forecast', at: iso(ex.at), earliest: iso(ex.earliest), latest: iso(ex.latest), notBefore: null, secondsToExhaustion: Math.max(0, Math.round((ex.at - o.now) / 1000)) };
  } else {
    base.exhaustion = { status: 'not_before', at: null, earliest: iso(ex.earliest), latest: null, notBefore: iso(ex.horizon), secondsToExhaustion: null };
  }
  return base;
}

const RANK: Record<ExhaustionStatus, number> = { exhausted: 0, forecast: 1, not_before: 2, unknown: 3 };

/** Soonest first: exhausted, then by forecast date, then the rest by utilisation (highest first). */
export function rankLimits(rows: LimitReport[]): LimitReport[] {
  return [...rows].sort((a, b) => {
    const r = RANK[a.exhaustion.status] - RANK[b.exhaustion.status];
    if (r !== 0) return r;
    if (a.exhaustion.status === 'forecast') return (a.exhaustion.secondsToExhaustion ?? 0) - (b.exhaustion.secondsToExhaustion ?? 0);
    return (b.utilisation ?? -1) - (a.utilisation ?? -1) || a.id.localeCompare(b.id);
  });
}
