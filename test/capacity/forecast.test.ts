import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findStep, fit, forecast, type Point } from '../../src/capacity/forecast.js';
import { parseGrowth, parseHorizon, parseLoad } from '../../src/capacity/forecast-input.js';

const H = 3_600_000;
const D = 24 * H;
// A Monday, midnight UTC.
const START = Date.parse('2026-03-02T00:00:00Z');

/** Seeded normal noise (mulberry32 + Box–Muller), so every run plants the same history. */
function noise(seed: number, sd: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return () => sd * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function history(hours: number, truth: (t: number) => number, sd = 0, seed = 1): Point[] {
  const n = noise(seed, sd);
  const pts: Point[] = [];
  for (let h = 0; h < hours; h++) {
    const t = START + h * H;
    pts.push({ t, v: truth(t) + n() });
  }
  return pts;
}

function expectAt(ex: ReturnType<typeof forecast>['exhaustion']): { at: number; earliest: number; latest: number } {
  if (ex.kind !== 'at') throw new Error(`expected a date, got ${JSON.stringify(ex)}`);
  if (ex.latest === null) throw new Error('expected a late edge within the horizon');
  return { at: ex.at, earliest: ex.earliest, latest: ex.latest };
}

describe('forecast: planted linear growth', () => {
  // 200 + 5 per hour: reaches 3000 after (3000 - 200) / 5 = 560 hours.
  const truth = (t: number): number => 200 + 5 * ((t - START) / H);
  const truthAt = START + 560 * H;
  const now = START + 336 * H;

  it('puts the true exhaustion time inside the band, the central estimate within hours of it', () => {
    const f = forecast(history(336, truth, 10, 7), { now, capacity: 3000, horizonMs: 30 * D, model: 'linear' });
    const ex = expectAt(f.exhaustion);
    expect(ex.earliest).toBeLessThanOrEqual(truthAt);
    expect(ex.latest).toBeGreaterThanOrEqual(truthAt);
    expect(Math.abs(ex.at - truthAt)).toBeLessThan(6 * H);
    // 5 per hour is 120 per day.
    expect(f.trendPerDay).toBeGreaterThan(115);
    expect(f.trendPerDay).toBeLessThan(125);
  });

  it('chooses by back-test and reports the error', () => {
    const f = forecast(history(336, truth, 10, 7), { now, capacity: 3000, horizonMs: 30 * D });
    expect(f.backtestError).not.toBeNull();
    // Noise of 10 around values near 1800: a few per mille.
    expect(f.backtestError!).toBeLessThan(0.02);
  });

  it('widens the band with noise', () => {
    const quiet = expectAt(forecast(history(336, truth, 2, 3), { now, capacity: 3000, horizonMs: 30 * D, model: 'linear' }).exhaustion);
    const noisy = expectAt(forecast(history(336, truth, 40, 3), { now, capacity: 3000, horizonMs: 30 * D, model: 'linear' }).exhaustion);
    expect(noisy.latest - noisy.earliest).toBeGreaterThan(3 * (quiet.latest - quiet.earliest));
    for (const ex of [quiet, noisy]) {
      expect(ex.earliest).toBeLessThanOrEqual(truthAt);
      expect(ex.latest).toBeGreaterThanOrEqual(truthAt);
    }
  });

  it('says "not before" the horizon when the usage is not growing', () => {
    const flat = history(336, () => 100, 5, 11);
    const f = forecast(flat, { now, capacity: 1000, horizonMs: 14 * D });
    expect(f.exhaustion).toEqual({ kind: 'not_before', horizon: now + 14 * D, earliest: null });
  });

  it('says "already" when the capacity is reached now', () => {
    const f = forecast(history(336, truth, 0), { now, capacity: 1000, horizonMs: 14 * D });
    expect(f.exhaustion.kind).toBe('already');
  });
});

describe('forecast: daily and weekly shape plus growth', () => {
  // Business hours (09–17 UTC) add 300, weekends take 200 off, the trend grows 2 per hour.
  const shape = (t: number): number => {
    const hod = new Date(t).getUTCHours();
    const dow = new Date(t).getUTCDay();
    return (hod >= 9 && hod < 17 ? 300 : 0) - (dow === 0 || dow === 6 ? 200 : 0);
  };
  const truth = (t: number): number => 1000 + 2 * ((t - START) / H) + shape(t);
  const now = START + 28 * D;

  /** First minute the noise-free truth reaches the capacity, scanning forward from now. */
  function trueCrossing(capacity: number): number {
    for (let t = now; t < now + 60 * D; t += 60_000) if (truth(t) >= capacity) return t;
    throw new Error('no crossing');
  }

  it('chooses the seasonal model, back-tests it better than a line, and brackets the true crossing', () => {
    // Level now: 1000 + 2·672 = 2344; +300 in a weekday's business hours. 1000 + 2h + 300 ≥ 2900
    // needs h ≥ 800 (Saturday 2026-04-04 08:00; Friday's business hours end at h = 785 with
    // 2870), so the first crossing is Monday 2026-04-06 09:00 (h = 849: 2998).
    const capacity = 2900;
    const truthAt = trueCrossing(capacity);
    expect(new Date(truthAt).toISOString()).toBe('2026-04-06T09:00:00.000Z');
    const f = forecast(history(28 * 24, truth, 15, 5), { now, capacity, horizonMs: 30 * D });
    expect(f.fit.model).toBe('seasonal');
    expect(f.backtests.seasonal!).toBeLessThan(f.backtests.linear!);
    const ex = expectAt(f.exhaustion);
    expect(ex.earliest).toBeLessThanOrEqual(truthAt);
    expect(ex.latest).toBeGreaterThanOrEqual(truthAt);
  });

  it('a linear model on the same history misses the weekday peak by days', () => {
    const capacity = 2900;
    const truthAt = trueCrossing(capacity);
    const f = forecast(history(28 * 24, truth, 15, 5), { now, capacity, horizonMs: 60 * D, model: 'linear' });
    const ex = expectAt(f.exhaustion);
    expect(Math.abs(ex.at - truthAt)).toBeGreaterThan(2 * D);
  });
});

describe('forecast: a step change', () => {
  // Flat at 100 for 10 days, then a new tenant: 600 growing 3 per hour. 1000 is reached
  // (1000 - 600) / 3 = 133.33 hours after the step.
  const stepAt = START + 10 * D;
  const truth = (t: number): number => (t < stepAt ? 100 : 600 + 3 * ((t - stepAt) / H));
  const truthAt = stepAt + (400 / 3) * H;
  const now = START + 14 * D;

  it('finds the step and forecasts from the history after it', () => {
    const f = forecast(history(14 * 24, truth, 8, 9), { now, capacity: 1000, horizonMs: 14 * D, model: 'linear' });
    expect(f.fit.stepAt).not.toBeNull();
    expect(Math.abs(f.fit.stepAt! - stepAt)).toBeLessThanOrEqual(2 * H);
    const ex = expectAt(f.exhaustion);
    expect(ex.earliest).toBeLessThanOrEqual(truthAt);
    expect(ex.latest).toBeGreaterThanOrEqual(truthAt);
  });
});

describe('forecast: planned adjustments and what-if growth', () => {
  it('a launch adding 30 % brings the exhaustion to the launch day', () => {
    // 1000 + 1 per hour; capacity 2000 is reached at hour 1000 without the launch. A launch at
    // hour 500 (value 1500·1.3 = 1950 < 2000) crosses when 1.3·(1000 + h) = 2000, h = 538.46.
    const truth = (t: number): number => 1000 + (t - START) / H;
    const now = START + 400 * H;
    const launch = START + 500 * H;
    const pts = history(400, truth, 0);
    const without = expectAt(forecast(pts, { now, capacity: 2000, horizonMs: 60 * D, model: 'linear' }).exhaustion);
    expect(Math.abs(without.at - (START + 1000 * H))).toBeLessThan(60_000);
    const withLaunch = expectAt(forecast(pts, { now, capacity: 2000, horizonMs: 60 * D, model: 'linear', adjustments: [{ at: launch, percent: 30 }] }).exhaustion);
    const truthAt = START + (2000 / 1.3 - 1000) * H;
    expect(Math.abs(withLaunch.at - truthAt)).toBeLessThan(60_000);
  });

  it('what-if 20 %/month on a flat 100 reaches 200 after ln 2 / ln 1.2 months', () => {
    const now = START + 14 * D;
    const pts = history(14 * 24, () => 100, 0);
    const f = forecast(pts, { now, capacity: 200, horizonMs: 365 * D, model: 'linear', growthPerMonth: 0.2 });
    const truthAt = now + (Math.log(2) / Math.log(1.2)) * 30 * D;
    const ex = expectAt(f.exhaustion);
    expect(ex.earliest).toBeLessThanOrEqual(truthAt);
    expect(ex.latest).toBeGreaterThanOrEqual(truthAt);
    expect(Math.abs(ex.at - truthAt)).toBeLessThan(H);
    // Without the what-if: flat, so not before the horizon.
    expect(forecast(pts, { now, capacity: 200, horizonMs: 365 * D, model: 'linear' }).exhaustion.kind).toBe('not_before');
  });
});

describe('forecast: properties', () => {
  it('noise-free linear growth is found within a minute of the closed form, inside the band', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1000, noNaN: true }), fc.double({ min: 0.1, max: 50, noNaN: true }), fc.integer({ min: 2, max: 600 }), (a, b, ahead) => {
        const hist = 48;
        const now = START + hist * H;
        const capacity = a + b * (hist + ahead);
        const truthAt = START + (hist + ahead) * H;
        const f = forecast(
          history(hist, (t) => a + b * ((t - START) / H), 0),
          { now, capacity, horizonMs: 700 * H, model: 'linear' },
        );
        const ex = expectAt(f.exhaustion);
        return Math.abs(ex.at - truthAt) < 60_000 && ex.earliest <= truthAt + 1 && ex.latest >= truthAt - 1;
      }),
      { numRuns: 60 },
    );
  });

  it('usage that is flat or shrinking is never given a date', () => {
    fc.assert(
      fc.property(fc.double({ min: 10, max: 1000, noNaN: true }), fc.double({ min: -5, max: 0, noNaN: true }), (a, b) => {
        const now = START + 48 * H;
        const capacity = a * 2 + 10;
        const f = forecast(
          history(48, (t) => a + b * ((t - START) / H), 0),
          { now, capacity, horizonMs: 30 * D, model: 'linear' },
        );
        return f.exhaustion.kind === 'not_before';
      }),
      { numRuns: 60 },
    );
  });

  it('a planned increase never makes the exhaustion later', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 500 }), (percent, launchHour) => {
        const now = START + 48 * H;
        const pts = history(48, (t) => 100 + (t - START) / H, 0);
        const o = { now, capacity: 500, horizonMs: 60 * D, model: 'linear' as const };
        const base = expectAt(forecast(pts, o).exhaustion).at;
        const adj = forecast(pts, { ...o, adjustments: [{ at: now + launchHour * H, percent }] }).exhaustion;
        return adj.kind === 'already' || (adj.kind === 'at' && adj.at <= base + 1);
      }),
      { numRuns: 60 },
    );
  });
});

describe('forecast input', () => {
  it('parses growth, load and horizons', () => {
    expect(parseGrowth('20%/month')).toBeCloseTo(0.2, 12);
    // 100 %/year compounds to 2^(30/365) − 1 per month.
    expect(parseGrowth('100%/year')).toBeCloseTo(Math.pow(2, 30 / 365) - 1, 12);
    expect(parseLoad('500000/s')).toBe(500_000);
    expect(parseLoad('30M/min')).toBe(500_000);
    expect(parseLoad('1.5k/s')).toBe(1500);
    expect(parseHorizon('14d')).toBe(14 * D);
    expect(parseHorizon('36h')).toBe(36 * H);
  });

  it('refuses nonsense with the path and the expected form', () => {
    expect(() => parseGrowth('fast')).toThrow('growth: "fast" is not a growth rate such as 20%/month');
    expect(() => parseGrowth('-150%/month')).toThrow('between -100% and 10000%');
    expect(() => parseGrowth('5%/s')).toThrow('growth: "5%/s"');
    expect(() => parseLoad('0/s')).toThrow('load: "0/s" is not a positive load');
    expect(() => parseLoad('lots')).toThrow('load: "lots"');
    expect(() => parseHorizon('0d', 'spec.horizon')).toThrow('spec.horizon: "0d" is not a duration between 1h and 5y');
    expect(() => parseHorizon('100y')).toThrow('between 1h and 5y');
  });
});

describe('step search by running sums', () => {
  /** The search as it was before running sums: two least-squares fits over copies at every split. */
  function stepBySlices(points: Point[]): number | null {
    const n = points.length;
    if (n < 24) return null;
    const t0 = points[0]!.t;
    const xs = points.map((p) => (p.t - t0) / H);
    const shape = points[n - 1]!.t - t0 >= 2 * D ? fit(points, 'seasonal', { detectStep: false }) : null;
    const ys = points.map((p) => (shape ? p.v - shape.daily[new Date(p.t).getUTCHours()]! - shape.weekly[(new Date(p.t).getUTCDay() + 6) % 7]! : p.v));
    const line = (a: number[], b: number[]) => {
      const mx = a.reduce((x, y) => x + y, 0) / a.length;
      const my = b.reduce((x, y) => x + y, 0) / b.length;
      let sxx = 0;
      let sxy = 0;
      a.forEach((x, i) => ((sxx += (x - mx) ** 2), (sxy += (x - mx) * (b[i]! - my))));
      const slope = sxx > 0 ? sxy / sxx : 0;
      return a.reduce((e, x, i) => e + (b[i]! - (my - slope * mx + slope * x)) ** 2, 0);
    };
    const whole = line(xs, ys);
    const minSide = Math.max(6, Math.floor(n / 10));
    const stride = Math.max(1, Math.floor(n / 100));
    let best: { at: number; sse: number } | null = null;
    for (let s = minSide; s <= n - minSide; s += stride) {
      const e = line(xs.slice(0, s), ys.slice(0, s)) + line(xs.slice(s), ys.slice(s));
      if (!best || e < best.sse) best = { at: s, sse: e };
    }
    const f = (whole - best!.sse) / 2 / (Math.max(best!.sse, 1e-12) / (n - 4));
    return f > 50 && whole > 1e-9 ? points[best!.at]!.t : null;
  }

  it('finds the same level shift as two fits at every split, on histories with and without one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 30, max: 400 }),
        fc.double({ min: 1, max: 1e9, noNaN: true }),
        fc.double({ min: -0.5, max: 3, noNaN: true }),
        fc.double({ min: 0.1, max: 0.9, noNaN: true }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (hours, level, jump, where, seed) => {
          const at = START + Math.floor(hours * where) * H;
          const pts = history(hours, (t) => level * (1 + (t >= at ? jump : 0)) + (level / 1000) * ((t - START) / H), level * 0.01, seed);
          expect(findStep(pts)).toBe(stepBySlices(pts));
        },
      ),
      { numRuns: 60 },
    );
  });
});
