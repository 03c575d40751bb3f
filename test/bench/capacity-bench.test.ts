/** `keel bench capacity` works end to end (its figures are judged in BENCHMARKS.md, not here). */
import { describe, expect, it } from 'vitest';
import { plantedHistory } from '../../src/bench/capacity-bench.js';
import { runCli } from '../helpers/cli.js';

describe('keel bench capacity', () => {
  it('times the report of N limits of H points beside the least-squares ceiling and the sample interval', async () => {
    const r = await runCli(['bench', 'capacity', '--limits', '30', '--points', '300', '--interval', '60', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      limits: number;
      points: number;
      report_ms: number;
      ceiling_least_squares_ms: number;
      report_vs_least_squares: number;
      sample_interval_ms: number;
      report_vs_interval: number;
      models: Record<string, number>;
      statuses: Record<string, number>;
    };
    expect(out).toMatchObject({ limits: 30, points: 300, sample_interval_ms: 60_000 });
    expect(out.report_ms).toBeGreaterThan(0);
    expect(out.ceiling_least_squares_ms).toBeGreaterThan(0);
    // The ratios are this run's own figures.
    expect(out.report_vs_interval).toBeCloseTo(out.report_ms / 60_000, 3);
    // (the printed ceiling is rounded to 0.001 ms; the ratio is of the unrounded times)
    expect(out.report_vs_least_squares / (out.report_ms / out.ceiling_least_squares_ms)).toBeCloseTo(1, 1);
    // Every limit got a forecast (300 five-minute points span 25 h: enough history).
    expect(Object.values(out.models).reduce((a, b) => a + b, 0)).toBe(30);
    expect(out.models.none).toBeUndefined();
    expect(Object.values(out.statuses).reduce((a, b) => a + b, 0)).toBe(30);
    expect(r.stderr).toContain('ceiling:');
    const human = await runCli(['bench', 'capacity', '--limits', '3', '--points', '50']);
    expect(human.stdout).toMatch(/^capacity report \(3 limits × 50 points\): [\d,.]+ ms; per limit p50/);
    expect(human.stdout).toContain('ceiling (bare least squares, same points)');
    expect(human.stdout).toContain('budget (the sample interval):              300,000 ms');
  });

  it('refuses histories too short to forecast, and more limits than it plants', async () => {
    const short = await runCli(['bench', 'capacity', '--points', '2']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('--points must be 3 to 100000, got 2');
    const many = await runCli(['bench', 'capacity', '--limits', '100001']);
    expect(many.code).toBe(2);
    expect(many.stderr).toContain('--limits must be 1 to 100000');
  });

  it('plants 5-minute samples ending now, the same for the same limit', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const h = plantedHistory(7, 12, 300_000, now);
    expect(h).toHaveLength(12);
    expect(h[11]!.t).toBe(now);
    expect(h[0]!.t).toBe(now - 11 * 300_000);
    expect(plantedHistory(7, 12, 300_000, now)).toEqual(h);
    expect(plantedHistory(8, 12, 300_000, now)).not.toEqual(h);
  });
});
