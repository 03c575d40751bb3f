/**
 * Time windows and the bucket grid (pure; times are explicit epoch ms).
 *
 * Counters are kept per 10 s, 1 min, 1 h and 1 day bucket (UTC) of event time. A window [a, b)
 * is summed as its aligned middle from the coarsest buckets that fit plus edges from finer ones,
 * so a 30-day window reads about two hundred rows however much traffic it saw.
 *
 * Window boundaries (the contract the tests check):
 * - every window ends at the last complete 10 s bucket: E = floor(now / 10 s) × 10 s. A window
 *   that ended at the end of the current, still filling bucket would swap a full old bucket for a
 *   partial new one and could cross a threshold up to 10 s before the exact trailing window does
 *   (864 bad of 59,875 is 14.43× where the exact hour, 864 of 60,000, is 14.40×);
 * - an alert window of length w is exactly [E − w, E), the trailing w at time E;
 * - a rolling SLO window of length W is [S, E) with S = E − W rounded down to the minute (older
 *   than the alert windows, only minute buckets and coarser are kept);
 * - a calendar SLO window is [period start, min(E, period end)), periods starting at
 *   `calendar.startTime` in `calendar.timeZone` and repeating every duration in that zone's
 *   calendar (a day across a DST change is 23 or 25 hours long).
 */
import { DateTime } from 'luxon';
import type { DurationUnit } from './durations.js';

export const SECOND = 1000;
export const FINE_MS = 10 * SECOND;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** Bucket sizes kept for event counters, coarsest first. */
export const LEVELS_MS = [DAY, HOUR, MINUTE, FINE_MS] as const;

export const floorTo = (t: number, step: number): number => Math.floor(t / step) * step;
export const ceilTo = (t: number, step: number): number => Math.ceil(t / step) * step;

/** End of the last complete 10 s bucket at `now` (the start of the current one): every window ends here. */
export function windowEnd(now: number): number {
  return floorTo(now, FINE_MS);
}

export type TimeWindow = { rolling: true; ms: number; text: string } | { rolling: false; amount: number; unit: DurationUnit; startTime: string; timeZone: string; text: string };

export interface SloWindow {
  start: number;
  end: number;
  /** Length of the window's definition: W for rolling windows, the whole period for calendar ones. */
  lengthMs: number;
  /** Calendar windows: when the current period ends. */
  periodEnd?: number;
}

export function sloWindowAt(tw: TimeWindow, now: number): SloWindow {
  const end = windowEnd(now);
  if (tw.rolling) return { start: floorTo(end - tw.ms, MINUTE), end, lengthMs: tw.ms };
  const p = calendarPeriod(tw, now);
  return { start: p.start, end: Math.min(end, p.end), lengthMs: p.end - p.start, periodEnd: p.end };
}

/** The SLO window of a chart point at minute-aligned time `t` (nothing after t counts). */
export function sloWindowEndingAt(tw: TimeWindow, t: number): SloWindow {
  if (tw.rolling) return { start: floorTo(t - tw.ms, MINUTE), end: t, lengthMs: tw.ms };
  const p = calendarPeriod(tw, t - 1);
  return { start: p.start, end: t, lengthMs: p.end - p.start, periodEnd: p.end };
}

/** Parses `2024-01-01 00:00:00` (or with a `T`) in a zone; undefined when invalid. */
export function calendarStart(startTime: string, timeZone: string): DateTime | undefined {
  for (const fmt of ['yyyy-MM-dd HH:mm:ss', "yyyy-MM-dd'T'HH:mm:ss", 'yyyy-MM-dd HH:mm', "yyyy-MM-dd'T'HH:mm", 'yyyy-MM-dd']) {
    const d = DateTime.fromFormat(startTime, fmt, { zone: timeZone });
    if (d.isValid) return d;
  }
  return undefined;
}

export function isValidZone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}

function periodStartAt(start: DateTime, tw: Extract<TimeWindow, { rolling: false }>, k: number): number {
  const n = tw.amount * k;
  switch (tw.unit) {
    case 'd':
      return start.plus({ days: n }).toMillis();
    case 'w':
      return start.plus({ weeks: n }).toMillis();
    case 'M':
      return start.plus({ months: n }).toMillis();
    case 'Q':
      return start.plus({ months: 3 * n }).toMillis();
    case 'Y':
      return start.plus({ years: n }).toMillis();
    default:
      return start.toMillis() + k * tw.amount * (tw.unit === 'h' ? HOUR : tw.unit === 'm' ? MINUTE : SECOND);
  }
}

const NOMINAL: Record<string, number> = { d: DAY, w: 7 * DAY, M: 30.44 * DAY, Q: 91.3 * DAY, Y: 365.25 * DAY, h: HOUR, m: MINUTE, s: SECOND };

/** The calendar period [start, end) that contains `t`. */
export function calendarPeriod(tw: Extract<TimeWindow, { rolling: false }>, t: number): { start: number; end: number } {
  const origin = calendarStart(tw.startTime, tw.timeZone);
  if (!origin) throw new Error(`invalid calendar start ${tw.startTime} ${tw.timeZone}`);
  let k = Math.floor((t - origin.toMillis()) / (tw.amount * NOMINAL[tw.unit]!));
  while (periodStartAt(origin, tw, k) > t) k--;
  while (periodStartAt(origin, tw, k + 1) <= t) k++;
  return { start: periodStartAt(origin, tw, k), end: periodStartAt(origin, tw, k + 1) };
}

export interface BucketRange {
  /** Bucket size in ms. */
  res: number;
  from: number;
  to: number;
}

/**
 * Splits [a, b) into ranges of whole buckets: the aligned middle at the coarsest level that fits,
 * the edges at finer levels. Both ends must be multiples of the finest level.
 */
export function decompose(a: number, b: number, levels: readonly number[] = LEVELS_MS): BucketRange[] {
  const out: BucketRange[] = [];
  const finest = levels[levels.length - 1]!;
  if (a % finest !== 0 || b % finest !== 0) throw new Error(`window [${a}, ${b}) is not aligned to ${finest} ms`);
  const go = (from: number, to: number, i: number): void => {
    if (from >= to) return;
    const size = levels[i]!;
    if (i === levels.length - 1) {
      out.push({ res: size, from, to });
      return;
    }
    const ca = ceilTo(from, size);
    const fb = floorTo(to, size);
    if (ca < fb) {
      go(from, ca, i + 1);
      out.push({ res: size, from: ca, to: fb });
      go(fb, to, i + 1);
    } else go(from, to, i + 1);
  };
  go(a, b, 0);
  return out;
}

/**
 * The union of `ranges` as disjoint ranges, per resolution (overlapping or touching ranges of one
 * resolution merged), ordered by resolution then start: reading each once reads every row of the
 * union exactly once.
 */
export function disjointRanges(ranges: Iterable<BucketRange>): BucketRange[] {
  const sorted = [...ranges].sort((a, b) => a.res - b.res || a.from - b.from);
  const out: BucketRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.res === r.res && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/**
 * Splits [a, b) for time slices: hour and day rollups of slice verdicts where whole ones fit,
 * individual slices (selected by their start) at the edges. Rollups are used only at sizes that
 * are whole multiples of the slice, so no slice straddles a rollup bucket.
 */
export function decomposeSlices(a: number, b: number, sliceMs: number): { rollups: BucketRange[]; slices: { from: number; to: number }[] } {
  const levels = [DAY, HOUR].filter((l) => l >= sliceMs && l % sliceMs === 0);
  const rollups: BucketRange[] = [];
  const slices: { from: number; to: number }[] = [];
  const go = (from: number, to: number, i: number): void => {
    if (from >= to) return;
    if (i === levels.length) {
      slices.push({ from, to });
      return;
    }
    const size = levels[i]!;
    const ca = ceilTo(from, size);
    const fb = floorTo(to, size);
    if (ca < fb) {
      go(from, ca, i + 1);
      rollups.push({ res: size, from: ca, to: fb });
      go(fb, to, i + 1);
    } else go(from, to, i + 1);
  };
  go(a, b, 0);
  return { rollups, slices };
}
