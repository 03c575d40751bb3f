/**
 * Capacity forecasting, pure: no I/O, every time explicit (epoch ms). A limit's usage history is a
 * list of points; a model (linear trend by least squares, or the trend plus a daily and weekly
 * shape) predicts it with a prediction band, and the time to exhaustion is when the prediction
 * (and each edge of the band) first reaches the capacity.
 *
 * Why a band and not a date: the same history fits many futures. The band is the classic
 * regression prediction interval, s·√(1 + 1/n + (t − t̄)²/Sxx), so it widens with noise and with
 * the distance from the history. Exhaustion is reported as `earliest ≤ at ≤ latest` (the upper
 * edge crosses first) and, when the central forecast does not reach the capacity within the
 * horizon, as "not before <horizon>" rather than a date thousands of days away.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;
/** A month for growth rates: 30 days (what-if growth is compounding per 30 days). */
export const MONTH_MS = 30 * DAY_MS;

export interface Point {
  t: number;
  v: number;
}

export type ModelName = 'linear' | 'seasonal';

export interface Adjustment {
  /** From this time on the forecast is multiplied by (1 + percent/100) (a launch, a migration). */
  at: number;
  percent: number;
}

export interface ForecastOptions {
  now: number;
  capacity: number;
  /** How far ahead to look for exhaustion (ms). */
  horizonMs: number;
  /** z of the band (1.96: 95 %). */
  z?: number;
  /** Force one model; by default the one with the smaller back-tested error. */
  model?: ModelName;
  adjustments?: readonly Adjustment[];
  /** What-if growth: replaces the fitted trend by compounding growth from the level now. */
  growthPerMonth?: number;
  /** Resolution of the exhaustion search (ms); default horizon/2000, at least one minute. */
  stepMs?: number;
}

export interface Band {
  value: number;
  low: number;
  high: number;
}

export type Exhaustion = { kind: 'already'; at: number } | { kind: 'at'; at: number; earliest: number; latest: number | null } | { kind: 'not_before'; horizon: number; earliest: number | null };

export interface Fit {
  model: ModelName;
  /** Trend: value = intercept + slope·(t − t0) / HOUR_MS (slope per hour). */
  t0: number;
  intercept: number;
  slopePerHour: number;
  /** Mean of (t − t0)/HOUR_MS and Σ(x − x̄)² of the points the trend was fitted on. */
  meanX: number;
  sxx: number;
  n: number;
  /** Residual standard deviation. */
  sd: number;
  /** Seasonal shape (24 hourly slots of the UTC day, 7 days of the week), zeros for linear. */
  daily: number[];
  weekly: number[];
  /** Points before this time were left out: a step change was found there. */
  stepAt: number | null;
}

export interface Forecast {
  fit: Fit;
  /** Back-tested error of the chosen model: mean absolute error over the last fifth of the history, as a fraction of the mean actual value (null: history too short). */
  backtestError: number | null;
  /** Back-tested errors of each model considered. */
  backtests: Partial<Record<ModelName, number | null>>;
  exhaustion: Exhaustion;
  /** Trend in units per day (after what-if growth: the growth at now). */
  trendPerDay: number;
}

const Z95 = 1.96;

function slotOfDay(t: number): number {
  return Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS);
}

function dayOfWeek(t: number): number {
  // 1970-01-01 was a Thursday; index 0 = Monday.
  return (((Math.floor(t / DAY_MS) + 3) % 7) + 7) % 7;
}

interface LineFit {
  intercept: number;
  slope: number;
  meanX: number;
  sxx: number;
  n: number;
}

function leastSquares(xs: readonly number[], ys: readonly number[]): LineFit {
  const n = xs.length;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    sxx += dx * dx;
    sxy += dx * (ys[i]! - my);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { intercept: my - slope * mx, slope, meanX: mx, sxx, n };
}

function sse(xs: readonly number[], ys: readonly number[], f: LineFit): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) {
    const r = ys[i]! - (f.intercept + f.slope * xs[i]!);
    s += r * r;
  }
  return s;
}

/**
 * The squared error of two least-squares lines split at s (points [0, s) and [s, n)), from running
 * sums of the values centred on their means (centring keeps the sums' magnitudes, and so their
 * rounding, small).
 */
function twoLineErrors(xs: readonly number[], ys: readonly number[]): (s: number) => number {
  const n = xs.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]! / n;
    my += ys[i]! / n;
  }
  const sx = new Float64Array(n + 1);
  const sy = new Float64Array(n + 1);
  const sxx = new Float64Array(n + 1);
  const sxy = new Float64Array(n + 1);
  const syy = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const x = xs[i]! - mx;
    const y = ys[i]! - my;
    sx[i + 1] = sx[i]! + x;
    sy[i + 1] = sy[i]! + y;
    sxx[i + 1] = sxx[i]! + x * x;
    sxy[i + 1] = sxy[i]! + x * y;
    syy[i + 1] = syy[i]! + y * y;
  }
  const range = (a: number, b: number): number => {
    const k = b - a;
    const X = sx[b]! - sx[a]!;
    const Y = sy[b]! - sy[a]!;
    const XX = sxx[b]! - sxx[a]! - (X * X) / k;
    const XY = sxy[b]! - sxy[a]! - (X * Y) / k;
    const YY = syy[b]! - syy[a]! - (Y * Y) / k;
    // A flat run of x (sxx 0) fits a level: its error is the values' spread, as leastSquares does.
    return Math.max(0, XX > 0 ? YY - (XY * XY) / XX : YY);
  };
  return (s) => range(0, s) + range(s, n);
}

/**
 * A level shift (a new tenant, a migration): the split that best explains the history as two
 * lines, kept when it explains it far better than one line (an F statistic over 20). The
 * forecast then uses only the points after it.
 */
export function findStep(points: readonly Point[]): number | null {
  const n = points.length;
  if (n < 24) return null;
  const t0 = points[0]!.t;
  const xs = points.map((p) => (p.t - t0) / HOUR_MS);
  // A daily or weekly shape is not a step: look for steps in the values with the shape removed.
  const shape = points[n - 1]!.t - t0 >= 2 * DAY_MS ? fit(points, 'seasonal', { detectStep: false }) : null;
  const ys = points.map((p) => (shape ? p.v - shape.daily[slotOfDay(p.t)]! - shape.weekly[dayOfWeek(p.t)]! : p.v));
  const whole = sse(xs, ys, leastSquares(xs, ys));
  const minSide = Math.max(6, Math.floor(n / 10));
  const stride = Math.max(1, Math.floor(n / 100));
  // Each candidate split's two-line error from running sums, O(1) a split instead of two fits over
  // copies of the history (`keel bench capacity`: this search was most of a forecast's time).
  const splitSse = twoLineErrors(xs, ys);
  let best: { at: number; sse: number } | null = null;
  for (let s = minSide; s <= n - minSide; s += stride) {
    const split = splitSse(s);
    if (!best || split < best.sse) best = { at: s, sse: split };
  }
  if (!best) return null;
  // The chosen split's error exactly, from its two fits (running sums lose digits on large values).
  const left = { xs: xs.slice(0, best.at), ys: ys.slice(0, best.at) };
  const right = { xs: xs.slice(best.at), ys: ys.slice(best.at) };
  best.sse = sse(left.xs, left.ys, leastSquares(left.xs, left.ys)) + sse(right.xs, right.ys, leastSquares(right.xs, right.ys));
  const f = (whole - best.sse) / 2 / (Math.max(best.sse, 1e-12) / (n - 4));
  return f > 50 && whole > 1e-9 ? points[best.at]!.t : null;
}

/** Fits a model to the points (sorted by time; at least 3). */
export function fit(points: readonly Point[], model: ModelName, o: { detectStep?: boolean } = {}): Fit {
  const stepAt = o.detectStep === false ? null : findStep(points);
  const used = stepAt === null ? points : points.filter((p) => p.t >= stepAt);
  const t0 = used[0]!.t;
  const xs = used.map((p) => (p.t - t0) / HOUR_MS);
  const ys = used.map((p) => p.v);
  const daily = new Array<number>(24).fill(0);
  const weekly = new Array<number>(7).fill(0);
  let line = leastSquares(xs, ys);
  const span = used[used.length - 1]!.t - t0;
  const seasonal = model === 'seasonal' && span >= 2 * DAY_MS;
  if (seasonal) {
    // Alternate: trend on deseasonalised values, shape from the detrended residuals (twice is
    // enough for a shape that repeats over whole days).
    for (let iter = 0; iter < 3; iter++) {
      const dSum = new Array<number>(24).fill(0);
      const dN = new Array<number>(24).fill(0);
      for (let i = 0; i < used.length; i++) {
        const r = ys[i]! - (line.intercept + line.slope * xs[i]!) - weekly[dayOfWeek(used[i]!.t)]!;
        const s = slotOfDay(used[i]!.t);
        dSum[s]! += r;
        dN[s]! += 1;
      }
      for (let s = 0; s < 24; s++) daily[s] = dN[s]! > 0 ? dSum[s]! / dN[s]! : 0;
      if (span >= 14 * DAY_MS) {
        const wSum = new Array<number>(7).fill(0);
        const wN = new Array<number>(7).fill(0);
        for (let i = 0; i < used.length; i++) {
          const r = ys[i]! - (line.intercept + line.slope * xs[i]!) - daily[slotOfDay(used[i]!.t)]!;
          const d = dayOfWeek(used[i]!.t);
          wSum[d]! += r;
          wN[d]! += 1;
        }
        for (let d = 0; d < 7; d++) weekly[d] = wN[d]! > 0 ? wSum[d]! / wN[d]! : 0;
      }
      line = leastSquares(
        xs,
        ys.map((y, i) => y - daily[slotOfDay(used[i]!.t)]! - weekly[dayOfWeek(used[i]!.t)]!),
      );
    }
  }
  let ss = 0;
  for (let i = 0; i < used.length; i++) {
    const r = ys[i]! - (line.intercept + line.slope * xs[i]!) - daily[slotOfDay(used[i]!.t)]! - weekly[dayOfWeek(used[i]!.t)]!;
    ss += r * r;
  }
  const params = 2 + (seasonal ? 24 + (span >= 14 * DAY_MS ? 7 : 0) : 0);
  const dof = Math.max(1, used.length - params);
  return {
    model: seasonal ? 'seasonal' : 'linear',
    t0,
    intercept: line.intercept,
    slopePerHour: line.slope,
    meanX: line.meanX,
    sxx: line.sxx,
    n: used.length,
    sd: Math.sqrt(ss / dof),
    daily,
    weekly,
    stepAt,
  };
}

/** The fitted model's prediction at t with its band (z standard errors of a new observation). */
export function predict(f: Fit, t: number, z = Z95): Band {
  const x = (t - f.t0) / HOUR_MS;
  const value = f.intercept + f.slopePerHour * x + f.daily[slotOfDay(t)]! + f.weekly[dayOfWeek(t)]!;
  const lever = f.sxx > 0 ? ((x - f.meanX) * (x - f.meanX)) / f.sxx : 0;
  const half = z * f.sd * Math.sqrt(1 + 1 / f.n + lever);
  return { value, low: value - half, high: value + half };
}

/**
 * Back-test: fit on the first four fifths of the history's time span, predict the last fifth,
 * and return the mean absolute error as a fraction of the mean actual value.
 */
export function backtest(points: readonly Point[], model: ModelName): number | null {
  if (points.length < 10) return null;
  const t0 = points[0]!.t;
  const cut = t0 + (points[points.length - 1]!.t - t0) * 0.8;
  const train = points.filter((p) => p.t <= cut);
  const test = points.filter((p) => p.t > cut);
  if (train.length < 5 || test.length < 2) return null;
  const f = fit(train, model);
  let err = 0;
  let sum = 0;
  for (const p of test) {
    err += Math.abs(predict(f, p.t).value - p.v);
    sum += Math.abs(p.v);
  }
  return sum > 0 ? err / sum : err / test.length;
}

/** Multiplier of planned adjustments and what-if growth at t. */
function factor(t: number, o: ForecastOptions): number {
  let k = 1;
  for (const a of o.adjustments ?? []) if (t >= a.at) k *= 1 + a.percent / 100;
  return k;
}

/** The forecast at t with adjustments and what-if growth applied. */
export function forecastAt(f: Fit, t: number, o: ForecastOptions): Band {
  const z = o.z ?? Z95;
  let b = predict(f, t, z);
  if (o.growthPerMonth !== undefined) {
    // What-if: the level now, grown by the stated rate, plus the fitted shape; the band keeps
    // the residual spread (the trend is given, not estimated).
    const level = f.intercept + f.slopePerHour * ((o.now - f.t0) / HOUR_MS);
    const grown = level * Math.pow(1 + o.growthPerMonth, (t - o.now) / MONTH_MS);
    const shape = f.daily[slotOfDay(t)]! + f.weekly[dayOfWeek(t)]!;
    const half = z * f.sd;
    b = { value: grown + shape, low: grown + shape - half, high: grown + shape + half };
  }
  const k = factor(t, o);
  return { value: b.value * k, low: b.low * k, high: b.high * k };
}

/** Fits (choosing the model by back-test unless told) and finds the time to exhaustion. */
export function forecast(points: readonly Point[], o: ForecastOptions): Forecast {
  if (points.length < 3) throw new RangeError('a forecast needs at least 3 points of history');
  if (!(o.capacity > 0)) throw new RangeError('capacity must be a positive number');
  if (!(o.horizonMs > 0)) throw new RangeError('horizon must be positive');
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const backtests: Partial<Record<ModelName, number | null>> = {};
  let chosen: ModelName = o.model ?? 'linear';
  if (o.model === undefined) {
    backtests.linear = backtest(sorted, 'linear');
    const span = sorted[sorted.length - 1]!.t - sorted[0]!.t;
    if (span >= 2 * DAY_MS) {
      backtests.seasonal = backtest(sorted, 'seasonal');
      if (backtests.seasonal !== null && backtests.seasonal !== undefined && (backtests.linear === null || backtests.linear === undefined || backtests.seasonal < backtests.linear))
        chosen = 'seasonal';
    }
  } else backtests[o.model] = backtest(sorted, o.model);
  const f = fit(sorted, chosen);
  const trendPerDay = o.growthPerMonth !== undefined ? (f.intercept + f.slopePerHour * ((o.now - f.t0) / HOUR_MS)) * (Math.pow(1 + o.growthPerMonth, DAY_MS / MONTH_MS) - 1) : f.slopePerHour * 24;
  return { fit: f, backtestError: backtests[f.model] ?? null, backtests, exhaustion: exhaustion(f, o), trendPerDay };
}

/**
 * When the forecast first reaches the capacity, scanning from now to the horizon. Between two
 * samples the central and early crossings are interpolated linearly (for a straight trend that
 * is exact); the late edge is the sample at or after the crossing.
 */
export function exhaustion(f: Fit, o: ForecastOptions): Exhaustion {
  const now = o.now;
  const start = forecastAt(f, now, o);
  if (start.value >= o.capacity) return { kind: 'already', at: now };
  const step = o.stepMs ?? Math.max(60_000, Math.floor(o.horizonMs / 2000));
  const end = now + o.horizonMs;
  let central: number | null = null;
  let earliest: number | null = start.high >= o.capacity ? now : null;
  let latest: number | null = start.low >= o.capacity ? now : null;
  let prev = start;
  let prevT = now;
  for (let t = now + step; prevT < end; t += step) {
    const at = Math.min(t, end);
    const cur = forecastAt(f, at, o);
    const cross = (a: number, b: number): number => prevT + ((o.capacity - a) / (b - a)) * (at - prevT);
    if (earliest === null && cur.high >= o.capacity) earliest = cross(prev.high, cur.high);
    if (central === null && cur.value >= o.capacity) central = cross(prev.value, cur.value);
    // The late edge is the sample time itself, not the interpolated crossing, so the band also
    // covers the search resolution (a shape that jumps inside a step).
    if (latest === null && cur.low >= o.capacity) latest = at;
    if (latest !== null) break;
    prev = cur;
    prevT = at;
  }
  if (central === null) return { kind: 'not_before', horizon: end, earliest };
  return { kind: 'at', at: central, earliest: earliest ?? central, latest };
}
