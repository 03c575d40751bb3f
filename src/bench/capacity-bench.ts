/**
 * `keel bench capacity`: what the capacity report's forecasts cost. N limits, each with H points of
 * planted history (a daily shape, growth and noise, spaced like the sampler's: 5-minute samples),
 * are each given the report line the sampler computes after every sample (`limitReport`: both
 * models fitted and back-tested, the band, the exhaustion search). Printed beside two ceilings
 * measured or known in the same run: the least work any forecast does (one least-squares pass over
 * the same points, no model choice, no band, no search), and the budget the report must fit in
 * (capacity.sampleInterval, the sampler computes the whole report once per interval).
 */
import { limitReport } from '../capacity/capacity-report.js';
import { DAY_MS, type Point } from '../capacity/forecast.js';
import { prng } from './events.js';
import { percentile } from './load.js';

export interface CapacityBenchOptions {
  limits: number;
  points: number;
  /** Sample spacing of the planted history (ms). */
  stepMs: number;
  /** The sampler's interval the whole report must fit in (ms). */
  intervalMs: number;
  log: (line: string) => void;
}

export interface CapacityBenchResult {
  limits: number;
  points: number;
  report_ms: number;
  per_limit_p50_ms: number;
  per_limit_p99_ms: number;
  /** Bare least squares over the same histories (the floor of any forecast). */
  ceiling_least_squares_ms: number;
  report_vs_least_squares: number;
  sample_interval_ms: number;
  report_vs_interval: number;
  models: Record<string, number>;
  statuses: Record<string, number>;
}

/** One limit's history: level, growth per day and a daily swing differ per limit. */
export function plantedHistory(i: number, points: number, stepMs: number, now: number): Point[] {
  const r = prng(i + 1);
  const level = 100 + 900 * r();
  const growthPerDay = level * (0.002 + 0.03 * r());
  const swing = level * 0.3 * r();
  const out: Point[] = new Array(points);
  const start = now - (points - 1) * stepMs;
  for (let k = 0; k < points; k++) {
    const t = start + k * stepMs;
    const days = (t - start) / DAY_MS;
    out[k] = { t, v: level + growthPerDay * days + swing * Math.sin((2 * Math.PI * (t % DAY_MS)) / DAY_MS) + level * 0.05 * (r() - 0.5) };
  }
  return out;
}

/** The least squares line of one history: what every forecast does at least once. */
function leastSquares(points: readonly Point[]): number {
  let st = 0;
  let sv = 0;
  let stt = 0;
  let stv = 0;
  const t0 = points[0]!.t;
  for (const p of points) {
    const t = p.t - t0;
    st += t;
    sv += p.v;
    stt += t * t;
    stv += t * p.v;
  }
  const n = points.length;
  return (n * stv - st * sv) / (n * stt - st * st);
}

export function benchCapacity(o: CapacityBenchOptions): CapacityBenchResult {
  const now = Date.parse('2026-12-01T00:00:00Z');
  const histories = Array.from({ length: o.limits }, (_, i) => plantedHistory(i, o.points, o.stepMs, now));
  o.log(`planted ${o.limits.toLocaleString('en-US')} histories of ${o.points.toLocaleString('en-US')} points; timing the least-squares ceiling…`);
  // The ceiling first, three passes, the fastest kept (JIT warmed by the earlier ones).
  let ceiling = Infinity;
  let sink = 0;
  for (let pass = 0; pass < 3; pass++) {
    const t0 = performance.now();
    for (const h of histories) sink += leastSquares(h);
    ceiling = Math.min(ceiling, performance.now() - t0);
  }
  o.log(`ceiling: ${ceiling.toFixed(1)} ms for every history (bare least squares); timing the report…`);
  const per: number[] = [];
  const models: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const start = performance.now();
  histories.forEach((h, i) => {
    const last = h[h.length - 1]!.v;
    const t0 = performance.now();
    // Headroom of 10 %, 50 % or 200 % over the level now: some limits run out within the horizon, some not.
    const r = limitReport({ id: `tenant.t${i}.rate`, tenant: `t${i}`, usage: last, capacity: last * [1.1, 1.5, 3][i % 3]! }, h, { now, horizonMs: 14 * DAY_MS });
    per.push(performance.now() - t0);
    models[r.model ?? 'none'] = (models[r.model ?? 'none'] ?? 0) + 1;
    statuses[r.exhaustion.status] = (statuses[r.exhaustion.status] ?? 0) + 1;
  });
  const reportMs = performance.now() - start;
  if (!Number.isFinite(sink)) o.log('(least squares gave a non-finite slope)');
  per.sort((a, b) => a - b);
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return {
    limits: o.limits,
    points: o.points,
    report_ms: r2(reportMs),
    per_limit_p50_ms: r2(percentile(per, 50)),
    per_limit_p99_ms: r2(percentile(per, 99)),
    ceiling_least_squares_ms: Math.round(ceiling * 1000) / 1000,
    report_vs_least_squares: r2(reportMs / ceiling),
    sample_interval_ms: o.intervalMs,
    report_vs_interval: Math.round((reportMs / o.intervalMs) * 10_000) / 10_000,
    models,
    statuses,
  };
}
