import { describe, expect, it } from 'vitest';
import { alertsOf, evaluatePolicy } from '../../src/slo/alert-rules.js';
import { defaultPolicy } from '../../src/slo/default-policy.js';
import { budget, burnRate, forecast, sli } from '../../src/slo/math.js';
import type { Measured } from '../../src/slo/measure.js';
import type { ResolvedPolicy } from '../../src/slo/model.js';

const D = 86_400_000;
const H = 3_600_000;
const M = 60_000;

function windows(map: Record<number, [number, number]>): (ms: number) => Measured | undefined {
  return (ms) => {
    const v = map[ms];
    return v ? { events: { good: v[0], total: v[1] }, units: { good: v[0], total: v[1] } } : undefined;
  };
}

describe('SLO math', () => {
  it('computes SLI, budget and burn rate as docs/architecture.md defines them', () => {
    const u = { good: 9_990, total: 10_000 };
    expect(sli(u)).toBe(0.999);
    expect(burnRate(u, 0.999)).toBeCloseTo(1, 12);
    expect(burnRate({ good: 9_856, total: 10_000 }, 0.999)).toBeCloseTo(14.4, 9);
    const b = budget({ good: 9_995, total: 10_000 }, 0.999);
    expect(b.total).toBeCloseTo(10, 9);
    expect(b.consumed).toBe(5);
    expect(b.remainingRatio).toBeCloseTo(0.5, 12);
    expect(budget({ good: 0, total: 0 }, 0.99).remainingRatio).toBe(1);
    expect(sli({ good: 0, total: 0 })).toBeNull();
  });

  it('forecasts budget exhaustion at the current burn rate', () => {
    const now = Date.UTC(2026, 0, 1);
    const f = forecast(0.5, 2, 30 * D, H, now);
    expect(f.inMs).toBe(7.5 * D);
    expect(forecast(0.5, 0, 30 * D, H, now).exhaustsAt).toBeNull();
    expect(forecast(-0.1, 3, 30 * D, H, now).exhausted).toBe(true);
    expect(forecast(0.5, 2, 30 * D, H, now, now + D).exhaustsAt).toBeNull();
  });
});

describe('burn-rate rules', () => {
  const policy = defaultPolicy(30 * D);
  const now = Date.UTC(2026, 5, 1, 12);

  it('pages when both windows of a rule burn faster than its factor', () => {
    // 2 % errors against a 99.9 % target: burn rate 20 over 1 h and 5 m.
    const r = evaluatePolicy(policy, 0.999, windows({ [H]: [9_800, 10_000], [5 * M]: [980, 1_000] }), now, {}, 10);
    const a = alertsOf(r);
    expect(a.get('page')!.firing).toBe(true);
    expect(a.get('ticket')!.firing).toBe(false);
    const page = r.find((c) => c.name === 'page-1h-5m')!;
    expect(page.long.burnRate).toBeCloseTo(20, 9);
    expect(page.short.badEvents).toBe(20);
  });

  it('does not page while the short window has recovered', () => {
    const r = evaluatePolicy(policy, 0.999, windows({ [H]: [9_800, 10_000], [5 * M]: [1_000, 1_000] }), now, {}, 10);
    expect(alertsOf(r).get('page')!.firing).toBe(false);
  });

  it('keeps a quiet service from paging on a few errors (minimum bad events per window)', () => {
    const quiet = windows({ [H]: [1, 10], [5 * M]: [1, 10] });
    expect(alertsOf(evaluatePolicy(policy, 0.999, quiet, now, {}, 10)).get('page')!.firing).toBe(false);
    expect(alertsOf(evaluatePolicy(policy, 0.999, quiet, now, {}, 9)).get('page')!.firing).toBe(true);
    expect(alertsOf(evaluatePolicy({ ...policy, minBadEvents: 0 }, 0.999, quiet, now, {}, 10)).get('page')!.firing).toBe(true);
  });

  it('fires only after the condition held for alertAfter, and forgets a condition that stopped', () => {
    const p: ResolvedPolicy = {
      ...policy,
      name: 'slow',
      conditions: [{ name: 'fast-burn', severity: 'page', op: 'gte', threshold: 2, longMs: H, shortMs: 5 * M, alertAfterMs: 10 * M }],
    };
    const burning = windows({ [H]: [9_000, 10_000], [5 * M]: [900, 1_000] });
    const first = evaluatePolicy(p, 0.99, burning, now, {}, 10)[0]!;
    expect(first.holds).toBe(true);
    expect(first.active).toBe(false);
    expect(first.pendingSince).toBe(now);
    const later = evaluatePolicy(p, 0.99, burning, now + 10 * M, { 'fast-burn': now }, 10)[0]!;
    expect(later.active).toBe(true);
    const calm = evaluatePolicy(p, 0.99, windows({ [H]: [10_000, 10_000], [5 * M]: [1_000, 1_000] }), now + 11 * M, { 'fast-burn': now }, 10)[0]!;
    expect(calm.pendingSince).toBeNull();
  });

  it('alerts on missing data only when the policy asks', () => {
    const none = windows({});
    expect(alertsOf(evaluatePolicy(policy, 0.99, none, now, {}, 10)).get('page')!.firing).toBe(false);
    expect(alertsOf(evaluatePolicy({ ...policy, alertWhenNoData: true }, 0.99, none, now, {}, 10)).get('page')!.firing).toBe(true);
  });
});
