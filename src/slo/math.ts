/**
 * The SLO math of docs/architecture.md (pure). `Units` are what the budgeting method counts: events
 * (Occurrences), slices (Timeslices: good slices of all slices) or, for RatioTimeslices, the sum of
 * the slices' ratios over the number of slices.
 *
 *   SLI              = good / total
 *   error budget     = 1 − target
 *   budget remaining = 1 − bad / (total × (1 − target))
 *   burn rate        = (bad / total) / (1 − target)
 */
export interface Units {
  good: number;
  total: number;
}

export function sli(u: Units): number | null {
  return u.total > 0 ? u.good / u.total : null;
}

export function burnRate(u: Units, target: number): number {
  return u.total > 0 ? (u.total - u.good) / u.total / (1 - target) : 0;
}

export interface Budget {
  /** Bad units the objective allows over the window so far: total × (1 − target). */
  total: number;
  consumed: number;
  remaining: number;
  /** 1 − bad / (total × (1 − target)); 1 when nothing was counted. */
  remainingRatio: number;
}

export function budget(u: Units, target: number): Budget {
  const allowed = u.total * (1 - target);
  const consumed = u.total - u.good;
  return { total: allowed, consumed, remaining: allowed - consumed, remainingRatio: u.total > 0 ? 1 - consumed / allowed : 1 };
}

export interface Forecast {
  /** The burn rate the forecast extrapolates, over `windowMs`. */
  burnRate: number;
  windowMs: number;
  exhausted: boolean;
  /** When the budget runs out at this burn rate; null when it does not (within the calendar period). */
  exhaustsAt: number | null;
  inMs: number | null;
}

/**
 * At burn rate b the budget of a window of length W drains by b / W per unit of time, so what is
 * left (a fraction r) lasts r × W / b. For rolling windows this ignores events leaving the window:
 * it is the usual "time to exhaustion at the current rate", not a prediction.
 */
export function forecast(remainingRatio: number, rate: number, sloWindowMs: number, windowMs: number, now: number, periodEnd?: number): Forecast {
  if (remainingRatio <= 0) return { burnRate: rate, windowMs, exhausted: true, exhaustsAt: now, inMs: 0 };
  if (rate <= 0) return { burnRate: rate, windowMs, exhausted: false, exhaustsAt: null, inMs: null };
  const inMs = Math.round((remainingRatio * sloWindowMs) / rate);
  if (periodEnd !== undefined && now + inMs >= periodEnd) return { burnRate: rate, windowMs, exhausted: false, exhaustsAt: null, inMs: null };
  return { burnRate: rate, windowMs, exhausted: false, exhaustsAt: now + inMs, inMs };
}
