/**
 * Who is on call, computed from a schedule: layers of rotations in the schedule's IANA time zone,
 * restrictions, and overrides. Pure (luxon only, no I/O); every time is explicit epoch ms.
 *
 * Semantics, in the schedule's zone:
 * - A layer's turn k starts at `start` (a local date) + `handoff` (local time of day) + k turns;
 *   turns advance by wall-clock time, so a daily 09:00 handoff stays at 09:00 across DST (the
 *   turn spanning spring-forward is 23 h long, the one spanning fall-back 25 h). Hour turns
 *   advance on the wall clock too (08:00/20:00 stay 08:00/20:00).
 * - A local time that does not exist (spring-forward gap) moves forward by the gap, as luxon
 *   resolves it; an ambiguous one (fall-back) takes the later instant, the standard-time one.
 * - Restrictions limit a layer to windows (`from`-`to` local time, on `days`; `to` <= `from`
 *   wraps past midnight into the next day). Outside them the layer does not cover.
 * - Layers are listed bottom to top: where several cover an instant, the last listed wins.
 * - Overrides win over every layer; among overlapping overrides the latest created wins.
 */
import { DateTime } from 'luxon';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface RestrictionSpec {
  /** Days the window starts on (default: every day). */
  days?: Weekday[];
  /** Local time of day, HH:mm. */
  from: string;
  to: string;
}

export interface LayerSpec {
  name: string;
  /** User names (User definitions), in rotation order. */
  users: string[];
  /** Local date (YYYY-MM-DD) of the first turn. */
  start: string;
  /** Turn length: `12h`, `1d`, `2w`. */
  turn: string;
  /** Local time of day turns change, HH:mm. */
  handoff: string;
  /** When the layer stops (local date, local date-time, or RFC 3339 instant). */
  end?: string;
  restrictions?: RestrictionSpec[];
}

export interface ScheduleSpec {
  timeZone: string;
  description?: string;
  layers: LayerSpec[];
}

export interface OverrideSpan {
  id: string;
  user: string;
  start: number;
  end: number;
  createdAt: number;
}

export interface Segment {
  /** Who is on call; null for a gap nobody covers. */
  user: string | null;
  start: number;
  end: number;
  /** Layer name, `override`, or null for a gap. */
  source: string | null;
}

const DAY_MS = 86_400_000;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TURN = /^(\d{1,4})(h|d|w)$/;

/** Minutes after midnight of an HH:mm text, or NaN. */
export function parseTimeOfDay(text: string): number {
  const m = TIME.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

export function parseTurn(text: string): { n: number; unit: 'h' | 'd' | 'w' } | undefined {
  const m = TURN.exec(text);
  if (!m || Number(m[1]) < 1) return undefined;
  return { n: Number(m[1]), unit: m[2] as 'h' | 'd' | 'w' };
}

/** A calendar date as a day number (days since 1970-01-01), independent of any zone. */
function dayNumber(y: number, m: number, d: number): number {
  return Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
}

export function parseLocalDate(text: string): number | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = DateTime.utc(y, mo, d);
  if (!dt.isValid || dt.month !== mo || dt.day !== d) return undefined;
  return dayNumber(y, mo, d);
}

/** Epoch ms of a local wall-clock time (day number + minutes) in the zone. */
export function wallClock(day: number, minuteOfDay: number, zone: string): number {
  const extraDays = Math.floor(minuteOfDay / 1440);
  const minute = minuteOfDay - extraDays * 1440;
  const date = new Date((day + extraDays) * DAY_MS);
  return DateTime.fromObject({ year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: Math.floor(minute / 60), minute: minute % 60 }, { zone }).toMillis();
}

/** Local day number of an instant in the zone. */
export function localDay(t: number, zone: string): number {
  const dt = DateTime.fromMillis(t, { zone });
  return dayNumber(dt.year, dt.month, dt.day);
}

/** Instant of a local date, local date-time (YYYY-MM-DDTHH:mm) or RFC 3339 instant; NaN if none. */
export function parseLocalInstant(text: string, zone: string): number {
  const day = parseLocalDate(text);
  if (day !== undefined) return wallClock(day, 0, zone);
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})$/.exec(text);
  if (m) {
    const d = parseLocalDate(m[1]!);
    const min = parseTimeOfDay(m[2]!);
    return d === undefined || Number.isNaN(min) ? NaN : wallClock(d, min, zone);
  }
  if (/[zZ]|[+-]\d{2}:\d{2}$/.test(text)) return DateTime.fromISO(text).toMillis();
  return NaN;
}

function weekdayOfDay(day: number): number {
  // 1970-01-01 was a Thursday; 0 = Monday.
  return (((day + 3) % 7) + 7) % 7;
}

interface CompiledRestriction {
  days: Set<number>;
  from: number;
  to: number;
}

class CompiledLayer {
  readonly startDay: number;
  readonly handoff: number;
  readonly turnDays: number;
  readonly turnMinutes: number;
  readonly approxTurnMs: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly restrictions: CompiledRestriction[];

  constructor(
    readonly spec: LayerSpec,
    readonly zone: string,
  ) {
    const day = parseLocalDate(spec.start);
    const turn = parseTurn(spec.turn);
    const handoff = parseTimeOfDay(spec.handoff);
    if (day === undefined || !turn || Number.isNaN(handoff)) throw new Error(`layer ${spec.name} is invalid`);
    this.startDay = day;
    this.handoff = handoff;
    this.turnDays = turn.unit === 'h' ? 0 : turn.n * (turn.unit === 'w' ? 7 : 1);
    this.turnMinutes = turn.unit === 'h' ? turn.n * 60 : 0;
    this.approxTurnMs = turn.unit === 'h' ? turn.n * 3_600_000 : this.turnDays * DAY_MS;
    this.startMs = this.boundary(0);
    this.endMs = spec.end ? parseLocalInstant(spec.end, zone) : Infinity;
    this.restrictions = (spec.restrictions ?? []).map((r) => ({
      days: new Set((r.days ?? WEEKDAYS).map((d) => WEEKDAYS.indexOf(d))),
      from: parseTimeOfDay(r.from),
      to: parseTimeOfDay(r.to),
    }));
  }

  /** Start of turn k, on the wall clock. */
  boundary(k: number): number {
    if (this.turnMinutes > 0) return wallClock(this.startDay, this.handoff + k * this.turnMinutes, this.zone);
    return wallClock(this.startDay + k * this.turnDays, this.handoff, this.zone);
  }

  /** Index of the turn covering t (may be negative before the start). */
  turnAt(t: number): number {
    let k = Math.floor((t - this.startMs) / this.approxTurnMs);
    while (this.boundary(k) > t) k--;
    while (this.boundary(k + 1) <= t) k++;
    return k;
  }

  userAt(t: number): string | null {
    if (t < this.startMs || t >= this.endMs || this.spec.users.length === 0) return null;
    if (this.restrictions.length > 0 && !this.restrictions.some((r) => this.inWindow(r, t))) return null;
    const k = this.turnAt(t);
    return this.spec.users[k % this.spec.users.length]!;
  }

  /** The window's instants on a local day: [start, end). */
  private window(r: CompiledRestriction, day: number): [number, number] {
    const s = wallClock(day, r.from, this.zone);
    const e = r.from < r.to ? wallClock(day, r.to, this.zone) : wallClock(day + 1, r.to, this.zone);
    return [s, e];
  }

  private inWindow(r: CompiledRestriction, t: number): boolean {
    const today = localDay(t, this.zone);
    for (const day of [today - 1, today]) {
      if (!r.days.has(weekdayOfDay(day))) continue;
      const [s, e] = this.window(r, day);
      if (s <= t && t < e) return true;
    }
    return false;
  }

  /** Every instant in [from, to) where this layer's answer may change. */
  boundaries(from: number, to: number, out: number[]): void {
    if (to <= this.startMs || from >= this.endMs) return;
    out.push(this.startMs);
    if (Number.isFinite(this.endMs)) out.push(this.endMs);
    let k = Math.max(0, this.turnAt(Math.max(from, this.startMs)));
    for (let b = this.boundary(k); b < to; b = this.boundary(++k)) out.push(b);
    if (this.restrictions.length === 0) return;
    const first = localDay(from, this.zone) - 1;
    const last = localDay(to, this.zone) + 1;
    for (const r of this.restrictions) {
      for (let day = first; day <= last; day++) {
        if (!r.days.has(weekdayOfDay(day))) continue;
        const [s, e] = this.window(r, day);
        out.push(s, e);
      }
    }
  }
}

export class Rotation {
  private readonly layers: CompiledLayer[];

  constructor(
    readonly spec: ScheduleSpec,
    private readonly overrides: readonly OverrideSpan[] = [],
  ) {
    this.layers = spec.layers.map((l) => new CompiledLayer(l, spec.timeZone));
  }

  /** Who is on call at t, and why (the layer or `override`). */
  at(t: number): { user: string; source: string } | null {
    let best: OverrideSpan | undefined;
    for (const o of this.overrides) {
      if (o.start <= t && t < o.end && (!best || o.createdAt > best.createdAt || (o.createdAt === best.createdAt && o.id > best.id))) best = o;
    }
    if (best) return { user: best.user, source: 'override' };
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i]!;
      const user = layer.userAt(t);
      if (user !== null) return { user, source: layer.spec.name };
    }
    return null;
  }

  /** Consecutive segments covering [from, to): who is on call, gaps included (user null). */
  segments(from: number, to: number): Segment[] {
    if (!(to > from)) return [];
    const points: number[] = [from];
    for (const l of this.layers) l.boundaries(from, to, points);
    for (const o of this.overrides) points.push(o.start, o.end);
    const sorted = [...new Set(points.filter((p) => p >= from && p < to))].sort((a, b) => a - b);
    const out: Segment[] = [];
    for (let i = 0; i < sorted.length; i++) {
      const start = sorted[i]!;
      const end = sorted[i + 1] ?? to;
      const who = this.at(start);
      const prev = out[out.length - 1];
      const user = who?.user ?? null;
      const source = who?.source ?? null;
      if (prev && prev.user === user && prev.source === source && prev.end === start) prev.end = end;
      else out.push({ user, start, end, source });
    }
    return out;
  }

  /**
   * The segments that touch [from, to), whole: the first and last reach back and forward to where
   * they really begin and end (up to `limitMs` beyond the range), so a calendar feed shows whole
   * shifts, and a shift keeps its start (and with it its UID) from one fetch to the next.
   */
  wholeSegments(from: number, to: number, limitMs: number): Segment[] {
    const out = this.segments(from, to);
    if (out.length === 0) return out;
    const same = (a: Segment | undefined, b: Segment) => a !== undefined && a.user === b.user && a.source === b.source;
    const first = out[0]!;
    for (let step = DAY_MS; from - first.start < limitMs; step *= 2) {
      const before = this.segments(first.start - step, first.start);
      const prev = before[before.length - 1];
      if (!same(prev, first)) break;
      const reachedEdge = prev!.start === first.start - step;
      first.start = prev!.start;
      if (!reachedEdge) break;
    }
    const last = out[out.length - 1]!;
    for (let step = DAY_MS; last.end - to < limitMs; step *= 2) {
      const next = this.segments(last.end, last.end + step)[0];
      if (!same(next, last)) break;
      const reachedEdge = next!.end === last.end + step;
      last.end = next!.end;
      if (!reachedEdge) break;
    }
    return out;
  }

  /** The shifts (segments with someone on call) in [from, to). */
  shifts(from: number, to: number): (Segment & { user: string })[] {
    return this.segments(from, to).filter((s): s is Segment & { user: string } => s.user !== null);
  }
}
