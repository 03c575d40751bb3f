/**
 * Exactly at a threshold. The numbers are binary fractions (target 0.75: a budget of exactly 0.25;
 * half the events bad: a burn rate of exactly 2), so "at the threshold" is exact, not rounded.
 */
import { describe, expect, it } from 'vitest';
import { alertsOf, evaluatePolicy, windowValues } from '../../src/slo/alert-rules.js';
import { sliceVerdict } from '../../src/slo/counter-writer.js';
import { budget, burnRate, forecast, sli } from '../../src/slo/math.js';
import type { Measured } from '../../src/slo/measure.js';
import type { CompareOp, ResolvedPolicy } from '../../src/slo/model.js';

const H = 3_600_000;
const M = 60_000;
const NOW = Date.parse('2026-06-01T12:00:00Z');

/** Both windows: `bad` of `total` events bad (units as events). */
function both(bad: number, total: number): (ms: number) => Measured | undefined {
  return () => ({ events: { good: total - bad, total }, units: { good: total - bad, total } });
}

function policy(op: CompareOp, threshold: number, over: Partial<ResolvedPolicy> = {}): ResolvedPolicy {
  return {
    name: 'p',
    builtin: false,
    alertWhenNoData: false,
    alertWhenResolved: true,
    alertWhenBreaching: true,
    notificationTargets: [],
    conditions: [{ name: 'c', severity: 'page', op, threshold, longMs: H, shortMs: 5 * M, alertAfterMs: 0 }],
    ...over,
  };
}

const breaching = (op: CompareOp, threshold: number, bad: number, total: number, floor = 0) => evaluatePolicy(policy(op, threshold), 0.75, both(bad, total), NOW, {}, floor)[0]!.breaching;

describe('burn rate exactly at the threshold', () => {
  it('is exactly 2 when half the events are bad against a 75 % target', () => {
    expect(burnRate({ good: 500, total: 1000 }, 0.75)).toBe(2);
    expect(windowValues(H, { events: { good: 500, total: 1000 }, units: { good: 500, total: 1000 } }, 0.75)).toEqual({ window: '1h', burnRate: 2, badEvents: 500, totalEvents: 1000 });
  });

  it('breaches gte and lte at the threshold, and neither gt nor lt', () => {
    expect(breaching('gte', 2, 500, 1000)).toBe(true);
    expect(breaching('gt', 2, 500, 1000)).toBe(false);
    expect(breaching('lte', 2, 500, 1000)).toBe(true);
    expect(breaching('lt', 2, 500, 1000)).toBe(false);
  });

  it('breaches gt and gte just above it, lt and lte just below it', () => {
    // 501/1000 bad: burn rate 2.004; 499/1000: 1.996.
    expect(breaching('gt', 2, 501, 1000)).toBe(true);
    expect(breaching('gte', 2, 501, 1000)).toBe(true);
    expect(breaching('lte', 2, 501, 1000)).toBe(false);
    expect(breaching('lt', 2, 499, 1000)).toBe(true);
    expect(breaching('lte', 2, 499, 1000)).toBe(true);
    expect(breaching('gte', 2, 499, 1000)).toBe(false);
  });

  it('pages exactly at the threshold through the alert of a gte policy', () => {
    const r = evaluatePolicy(policy('gte', 2), 0.75, both(500, 1000), NOW, {}, 10);
    expect(alertsOf(r).get('page')).toMatchObject({ firing: true });
  });

  it('needs both windows to compare: a short window below the threshold holds nothing', () => {
    const m = (ms: number): Measured => (ms === H ? { events: { good: 500, total: 1000 }, units: { good: 500, total: 1000 } } : { events: { good: 51, total: 100 }, units: { good: 51, total: 100 } });
    expect(evaluatePolicy(policy('gte', 2), 0.75, m, NOW, {}, 0)[0]!.breaching).toBe(false);
    const l = (ms: number): Measured => (ms !== H ? { events: { good: 500, total: 1000 }, units: { good: 500, total: 1000 } } : { events: { good: 51, total: 100 }, units: { good: 51, total: 100 } });
    expect(evaluatePolicy(policy('gte', 2), 0.75, l, NOW, {}, 0)[0]!.breaching).toBe(false);
  });

  it('counts the minimum of bad events inclusively, for rising thresholds only', () => {
    expect(breaching('gte', 2, 500, 1000, 500)).toBe(true);
    expect(breaching('gte', 2, 500, 1000, 501)).toBe(false);
    expect(breaching('gt', 1, 500, 1000, 500)).toBe(true);
    expect(breaching('gt', 1, 500, 1000, 501)).toBe(false);
    // Each window needs the floor: enough bad events in the long window alone, or the short alone, is not enough.
    const longOnly = (ms: number): Measured =>
      ms === H ? { events: { good: 500, total: 1000 }, units: { good: 500, total: 1000 } } : { events: { good: 50, total: 100 }, units: { good: 50, total: 100 } };
    expect(evaluatePolicy(policy('gte', 2), 0.75, longOnly, NOW, {}, 60)[0]!.breaching).toBe(false);
    expect(evaluatePolicy(policy('gte', 2), 0.75, longOnly, NOW, {}, 50)[0]!.breaching).toBe(true);
    const shortOnly = (ms: number): Measured =>
      ms !== H ? { events: { good: 500, total: 1000 }, units: { good: 500, total: 1000 } } : { events: { good: 50, total: 100 }, units: { good: 50, total: 100 } };
    expect(evaluatePolicy(policy('gte', 2), 0.75, shortOnly, NOW, {}, 60)[0]!.breaching).toBe(false);
    // A falling threshold (a burn rate that dropped too low) ignores the floor.
    expect(breaching('lte', 2, 500, 1000, 10_000)).toBe(true);
    expect(breaching('lt', 3, 500, 1000, 10_000)).toBe(true);
  });

  it('holds nothing without events in either window, unless the policy alerts on no data', () => {
    const none = () => undefined;
    const onlyLong = (ms: number): Measured | undefined => (ms === H ? { events: { good: 0, total: 10 }, units: { good: 0, total: 10 } } : undefined);
    const onlyShort = (ms: number): Measured | undefined => (ms === H ? undefined : { events: { good: 0, total: 10 }, units: { good: 0, total: 10 } });
    expect(evaluatePolicy(policy('lte', 2), 0.75, none, NOW, {}, 0)[0]).toMatchObject({ breaching: false, noData: true, holds: false });
    expect(evaluatePolicy(policy('lte', 5), 0.75, onlyLong, NOW, {}, 0)[0]).toMatchObject({ breaching: false, noData: false, holds: false });
    expect(evaluatePolicy(policy('lte', 5), 0.75, onlyShort, NOW, {}, 0)[0]).toMatchObject({ breaching: false, noData: true });
    expect(evaluatePolicy(policy('gte', 2, { alertWhenNoData: true }), 0.75, none, NOW, {}, 0)[0]).toMatchObject({ holds: true, active: true });
    expect(evaluatePolicy(policy('gte', 2, { alertWhenBreaching: false }), 0.75, both(500, 1000), NOW, {}, 0)[0]).toMatchObject({ breaching: true, holds: false, active: false });
  });

  it('becomes active exactly when the condition has held for alertAfter, not a millisecond sooner', () => {
    const p = policy('gte', 2);
    p.conditions[0]!.alertAfterMs = 10 * M;
    const since = { c: NOW - 10 * M };
    expect(evaluatePolicy(p, 0.75, both(500, 1000), NOW, since, 0)[0]).toMatchObject({ active: true, pendingSince: NOW - 10 * M });
    expect(evaluatePolicy(p, 0.75, both(500, 1000), NOW - 1, since, 0)[0]).toMatchObject({ active: false, holds: true });
  });

  it('fires an alert while any of its conditions is active, per severity', () => {
    const p = policy('gte', 2);
    p.conditions.push({ name: 'slow', severity: 'page', op: 'gte', threshold: 4, longMs: 6 * H, shortMs: 30 * M, alertAfterMs: 0 });
    p.conditions.push({ name: 'ticket', severity: 'ticket', op: 'gte', threshold: 1, longMs: 6 * H, shortMs: 30 * M, alertAfterMs: 0 });
    const a = alertsOf(evaluatePolicy(p, 0.75, both(500, 1000), NOW, {}, 0));
    expect(a.get('page')!.firing).toBe(true);
    expect(a.get('page')!.conditions.map((c) => c.name)).toEqual(['c', 'slow']);
    expect(a.get('ticket')!.firing).toBe(true);
    const calm = alertsOf(evaluatePolicy(p, 0.75, both(100, 1000), NOW, {}, 0));
    expect([calm.get('page')!.firing, calm.get('ticket')!.firing]).toEqual([false, false]);
  });
});

describe('SLO math at its edges', () => {
  it('computes SLI, budget and burn rate for exact fractions', () => {
    expect(sli({ good: 3, total: 4 })).toBe(0.75);
    expect(burnRate({ good: 0, total: 0 }, 0.75)).toBe(0);
    expect(burnRate({ good: 3, total: 4 }, 0.75)).toBe(1);
    expect(budget({ good: 3, total: 4 }, 0.75)).toEqual({ total: 1, consumed: 1, remaining: 0, remainingRatio: 0 });
    expect(budget({ good: 2, total: 4 }, 0.75)).toEqual({ total: 1, consumed: 2, remaining: -1, remainingRatio: -1 });
  });

  it('forecasts exhaustion exactly at the end of the calendar period as not within it', () => {
    const day = 86_400_000;
    // Half the budget left at burn rate 2 over a 4-day window: one day to go.
    expect(forecast(0.5, 2, 4 * day, H, NOW)).toEqual({ burnRate: 2, windowMs: H, exhausted: false, exhaustsAt: NOW + day, inMs: day });
    expect(forecast(0.5, 2, 4 * day, H, NOW, NOW + day)).toEqual({ burnRate: 2, windowMs: H, exhausted: false, exhaustsAt: null, inMs: null });
    expect(forecast(0.5, 2, 4 * day, H, NOW, NOW + day + 1)).toMatchObject({ exhaustsAt: NOW + day, inMs: day });
    expect(forecast(0, 2, 4 * day, H, NOW)).toEqual({ burnRate: 2, windowMs: H, exhausted: true, exhaustsAt: NOW, inMs: 0 });
    expect(forecast(0.5, -1, 4 * day, H, NOW)).toMatchObject({ exhausted: false, exhaustsAt: null });
  });
});

describe('time-slice verdict exactly at the slice target', () => {
  it('counts a slice whose share of good events equals the target as good', () => {
    expect(sliceVerdict(3, 4, 0.75)).toEqual({ counted: 1, good: 1, ratio: 0.75 });
    expect(sliceVerdict(99, 100, 0.99)).toEqual({ counted: 1, good: 1, ratio: 0.99 });
  });

  it('counts a slice just below the target as bad, and an empty slice not at all', () => {
    expect(sliceVerdict(74, 100, 0.75)).toEqual({ counted: 1, good: 0, ratio: 0.74 });
    expect(sliceVerdict(0, 0, 0.75)).toEqual({ counted: 0, good: 0, ratio: 0 });
    // RatioTimeslices have no slice target: every slice counts by its ratio only.
    expect(sliceVerdict(3, 4, undefined)).toEqual({ counted: 1, good: 0, ratio: 0.75 });
  });
});
