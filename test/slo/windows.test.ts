import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/slo/default-policy.js';
import { calendarPeriod, decompose, decomposeSlices, disjointRanges, sloWindowAt, windowEnd, type TimeWindow } from '../../src/slo/windows.js';

const H = 3_600_000;
const D = 24 * H;

describe('bucket decomposition', () => {
  it('covers any aligned window exactly with few whole buckets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 4_000_000 }), (a10, len10) => {
        const a = 1_700_000_000_000 + a10 * 10_000;
        const b = a + len10 * 10_000;
        const ranges = decompose(a, b).sort((x, y) => x.from - y.from);
        let at = a;
        for (const r of ranges) {
          expect(r.from).toBe(at);
          expect(r.from % r.res).toBe(0);
          expect(r.to % r.res).toBe(0);
          at = r.to;
        }
        expect(at).toBe(b);
        // Whatever the length: at most 5 + 59 + 23 edge buckets on each side plus the days.
        const rows = ranges.reduce((s, r) => s + (r.to - r.from) / r.res, 0);
        expect(rows).toBeLessThanOrEqual(2 * (5 + 59 + 23) + Math.ceil((b - a) / D) + 1);
      }),
      { numRuns: 500, seed: 1 },
    );
  });

  it('splits slice windows into rollups and edge slices by slice start', () => {
    const a = Date.UTC(2026, 0, 1, 10, 3);
    const b = Date.UTC(2026, 0, 3, 5, 0);
    const { rollups, slices } = decomposeSlices(a, b, 5 * 60_000);
    const hours = rollups.filter((r) => r.res === H);
    expect(slices[0]).toEqual({ from: a, to: Date.UTC(2026, 0, 1, 11) });
    expect(rollups.find((r) => r.res === D)).toEqual({ res: D, from: Date.UTC(2026, 0, 2), to: Date.UTC(2026, 0, 3) });
    expect(hours.length).toBe(2);
  });
  it("reads the union of several windows' ranges as disjoint ranges per resolution, each row once", () => {
    const M = 60_000;
    expect(
      disjointRanges([
        { res: M, from: 10 * M, to: 20 * M },
        { res: 10_000, from: 0, to: 60_000 },
        { res: M, from: 15 * M, to: 25 * M },
        { res: M, from: 25 * M, to: 30 * M },
        { res: M, from: 40 * M, to: 50 * M },
        { res: 10_000, from: 0, to: 30_000 },
      ]),
    ).toEqual([
      { res: 10_000, from: 0, to: 60_000 },
      { res: M, from: 10 * M, to: 30 * M },
      { res: M, from: 40 * M, to: 50 * M },
    ]);
  });
});

describe('SLO windows', () => {
  it('ends every window at the last complete 10 s bucket; rolling windows start on the minute', () => {
    const now = Date.UTC(2026, 4, 10, 12, 30, 17, 500);
    expect(windowEnd(now)).toBe(Date.UTC(2026, 4, 10, 12, 30, 10));
    expect(windowEnd(Date.UTC(2026, 4, 10, 12, 30, 20))).toBe(Date.UTC(2026, 4, 10, 12, 30, 20));
    const w = sloWindowAt({ rolling: true, ms: 30 * D, text: '30d' }, now);
    expect(w.end).toBe(Date.UTC(2026, 4, 10, 12, 30, 10));
    expect(w.start).toBe(Date.UTC(2026, 3, 10, 12, 30, 0));
  });

  it('follows the calendar of its time zone across DST changes', () => {
    const berlinDay: TimeWindow = { rolling: false, amount: 1, unit: 'd', startTime: '2026-01-01 00:00:00', timeZone: 'Europe/Berlin', text: '1d' };
    // 29 March 2026: clocks go forward, the day has 23 hours; 25 October: back, 25 hours.
    const spring = calendarPeriod(berlinDay, Date.UTC(2026, 2, 29, 12));
    expect(spring.end - spring.start).toBe(23 * H);
    expect(spring.start).toBe(Date.UTC(2026, 2, 28, 23));
    const autumn = calendarPeriod(berlinDay, Date.UTC(2026, 9, 25, 12));
    expect(autumn.end - autumn.start).toBe(25 * H);
    const nyWeek: TimeWindow = { rolling: false, amount: 1, unit: 'w', startTime: '2026-03-02 09:00:00', timeZone: 'America/New_York', text: '1w' };
    const week = calendarPeriod(nyWeek, Date.UTC(2026, 2, 10));
    expect(DateTime.fromMillis(week.start, { zone: 'America/New_York' }).toFormat('yyyy-MM-dd HH:mm')).toBe('2026-03-09 09:00');
    expect(week.end - week.start).toBe(7 * D);
    const spanning = calendarPeriod(nyWeek, Date.UTC(2026, 2, 5));
    expect(spanning.end - spanning.start).toBe(7 * D - H); // 8 March: an hour is skipped
    const month: TimeWindow = { rolling: false, amount: 1, unit: 'M', startTime: '2026-01-31 00:00:00', timeZone: 'UTC', text: '1M' };
    const feb = calendarPeriod(month, Date.UTC(2026, 1, 15));
    expect(new Date(feb.start).toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(new Date(feb.end).toISOString()).toBe('2026-02-28T00:00:00.000Z');
    const w = sloWindowAt(month, Date.UTC(2026, 1, 15, 10, 0, 3));
    expect(w.end).toBe(Date.UTC(2026, 1, 15, 10, 0, 0));
    expect(w.periodEnd).toBe(feb.end);
  });
});

describe('default alert policy', () => {
  it('is the SRE Workbook policy for 30 days and scales its windows with the SLO window', () => {
    const base = defaultPolicy(30 * D);
    expect(base.conditions.map((c) => [c.severity, c.threshold, c.longMs / 60_000, c.shortMs / 60_000])).toEqual([
      ['page', 14.4, 60, 5],
      ['page', 6, 360, 30],
      ['ticket', 3, 1440, 120],
      ['ticket', 1, 4320, 360],
    ]);
    const week = defaultPolicy(7 * D);
    expect(week.conditions.map((c) => [c.longMs / 60_000, c.shortMs / 60_000])).toEqual([
      [14, 1],
      [84, 7],
      [336, 28],
      [1008, 84],
    ]);
    expect(defaultPolicy(D).conditions[0]!.shortMs).toBe(60_000);
  });
});
