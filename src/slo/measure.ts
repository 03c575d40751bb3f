/**
 * Measures an SLO generation at a point in time: for each objective, the counts over the SLO
 * window and over each alert window, in events and in the budgeting method's units.
 */
import type { Db } from '../store/schema.js';
import { sumSliceWindows, sumWindows, type Counts, type Window } from './counter-reader.js';
import { OVERALL } from './counter-writer.js';
import { scaleWindow } from './default-policy.js';
import type { Generation } from './generations.js';
import type { Units } from './math.js';
import type { ResolvedSlo } from './model.js';
import { windowLength } from './resolve.js';
import { HOUR, type SloWindow } from './windows.js';

export interface Measured {
  events: Counts;
  units: Units;
}

export interface ObjectiveMeasure {
  objective: number;
  target: number;
  sloWindow: SloWindow;
  slo: Measured;
  /** By window length in ms: the window [end − ms, end). */
  windows: Map<number, Measured>;
}

/** Every alert window of the SLO's policies, plus the forecast window, shortest first. */
export function alertWindows(slo: ResolvedSlo): number[] {
  const set = new Set<number>([forecastWindow(slo)]);
  for (const p of slo.policies) for (const c of p.conditions) set.add(c.longMs).add(c.shortMs);
  return [...set].sort((a, b) => a - b);
}

/** The burn rate the exhaustion forecast extrapolates: over one hour, scaled like the default policy. */
export function forecastWindow(slo: ResolvedSlo): number {
  return scaleWindow(HOUR, windowLength(slo.window));
}

export async function overallSeries(db: Db, uid: string): Promise<Map<number, number>> {
  return (await overallSeriesOf(db, [uid])).get(uid) ?? new Map();
}

/** Generations read by one statement (their uids are its parameters; far below both stores' limits). */
const UIDS_PER_STATEMENT = 500;

/** The overall series of many generations, by uid and objective: one query per 500 generations. */
export async function overallSeriesOf(db: Db, uids: string[]): Promise<Map<string, Map<number, number>>> {
  const out = new Map<string, Map<number, number>>();
  for (let i = 0; i < uids.length; i += UIDS_PER_STATEMENT) {
    const part = uids.slice(i, i + UIDS_PER_STATEMENT);
    const rows = await db.selectFrom('slo_series').select(['gen_uid', 'id', 'objective']).where('gen_uid', 'in', part).where('breakdown', '=', OVERALL).execute();
    for (const r of rows) {
      let m = out.get(r.gen_uid);
      if (!m) out.set(r.gen_uid, (m = new Map()));
      m.set(Number(r.objective), Number(r.id));
    }
  }
  return out;
}

export async function measureGeneration(
  db: Db,
  gen: Pick<Generation, 'uid' | 'slo'>,
  sloWindow: SloWindow,
  end: number,
  windowsMs: number[],
  series?: Map<number, number>,
): Promise<ObjectiveMeasure[]> {
  return (await measureGenerationAt(db, gen, [{ sloWindow, end }], windowsMs, series))[0]!;
}

/** The windows one point is measured over: its SLO window, then each alert window ending at `end`. */
function windowsAt(p: { sloWindow: SloWindow; end: number }, windowsMs: number[]): Window[] {
  return [{ from: p.sloWindow.start, to: p.sloWindow.end }, ...windowsMs.map((ms) => ({ from: p.end - ms, to: p.end }))];
}

/** An objective's counts in its budgeting method's units: events, or time slices read from the slice tables. */
async function unitsOf(db: Db, slo: ResolvedSlo, o: number, sid: number | undefined, windows: Window[], events: Counts[]): Promise<Units[]> {
  const objective = slo.objectives[o]!;
  if (slo.method === 'Occurrences' || !objective.timeSliceMs) return events;
  const slices = sid === undefined ? windows.map(() => ({ goodSlices: 0, totalSlices: 0, ratioSum: 0 })) : await sumSliceWindows(db, sid, objective.timeSliceMs, objective.timeSliceTarget, windows);
  return slices.map((s) => (slo.method === 'Timeslices' ? { good: s.goodSlices, total: s.totalSlices } : { good: s.ratioSum, total: s.totalSlices }));
}

/** One point's measure of an objective, from the counts of its windows starting at index `at` (as `windowsAt` orders them). */
function objectiveMeasure(slo: ResolvedSlo, o: number, p: { sloWindow: SloWindow }, windowsMs: number[], events: Counts[], units: Units[], at: number): ObjectiveMeasure {
  return {
    objective: o,
    target: slo.objectives[o]!.target,
    sloWindow: p.sloWindow,
    slo: { events: events[at]!, units: units[at]! },
    windows: new Map(windowsMs.map((ms, k) => [ms, { events: events[at + 1 + k]!, units: units[at + 1 + k]! }])),
  };
}

/**
 * Measures at several points in time with one read of the counters per objective (a chart's
 * points: each window of each point is summed from the rows of the union of their buckets), so a
 * 30-day chart costs a few queries instead of one per point.
 */
export async function measureGenerationAt(
  db: Db,
  gen: Pick<Generation, 'uid' | 'slo'>,
  points: { sloWindow: SloWindow; end: number }[],
  windowsMs: number[],
  series?: Map<number, number>,
): Promise<ObjectiveMeasure[][]> {
  const ids = series ?? (await overallSeries(db, gen.uid));
  const per = 1 + windowsMs.length;
  const windows: Window[] = points.flatMap((p) => windowsAt(p, windowsMs));
  const out: ObjectiveMeasure[][] = points.map(() => []);
  for (let o = 0; o < gen.slo.objectives.length; o++) {
    const sid = ids.get(o);
    const events = sid === undefined ? windows.map(() => ({ good: 0, total: 0 })) : (await sumWindows(db, [sid], windows))[0]!;
    const units = await unitsOf(db, gen.slo, o, sid, windows, events);
    points.forEach((p, i) => out[i]!.push(objectiveMeasure(gen.slo, o, p, windowsMs, events, units, i * per)));
  }
  return out;
}

/**
 * The overall series of the generations, taken from `known` for each generation whose every
 * objective has one there and read for the others; those found for all their objectives are added
 * to `known`. A series keeps its id for its generation's life (the counter writer caches them the
 * same way; only a retired generation's series are deleted), so the caller may keep `known`
 * between evaluations: only generations not yet counted are read again.
 */
async function overallSeriesKnown(db: Db, reqs: MeasureRequest[], known: Map<string, Map<number, number>> | undefined): Promise<Map<string, Map<number, number>>> {
  const complete = (uid: string, objectives: number) => (known?.get(uid)?.size ?? 0) >= objectives;
  const read = await overallSeriesOf(db, [...new Set(reqs.filter((r) => !complete(r.gen.uid, r.gen.slo.objectives.length)).map((r) => r.gen.uid))]);
  const out = new Map<string, Map<number, number>>();
  for (const r of reqs) {
    const ids = complete(r.gen.uid, r.gen.slo.objectives.length) ? known!.get(r.gen.uid)! : read.get(r.gen.uid);
    if (!ids) continue;
    out.set(r.gen.uid, ids);
    if (known && ids.size >= r.gen.slo.objectives.length) known.set(r.gen.uid, ids);
  }
  return out;
}

/** One generation to measure at one point in time (an evaluation's SLO). */
export interface MeasureRequest {
  gen: Pick<Generation, 'uid' | 'slo'>;
  sloWindow: SloWindow;
  end: number;
  windowsMs: number[];
}

/** Series read by one window-sum statement. */
const SERIES_PER_STATEMENT = 500;

/**
 * Measures many generations, each at its own point, with a few statements for all of them instead
 * of a few per generation (an evaluation tick of 10,000 SLOs on PostgreSQL was 20,000 sequential
 * round trips): their overall series in one query, then one window-sum query per distinct list of
 * windows (every SLO with the same window and alert windows shares one). Each series is still
 * summed over its own windows alone, so the counts are those `measureGeneration` gives one by one.
 * Time-slice objectives read their slice tables per objective, as `measureGeneration` does.
 */
export async function measureGenerations(db: Db, reqs: MeasureRequest[], known?: Map<string, Map<number, number>>): Promise<ObjectiveMeasure[][]> {
  const series = await overallSeriesKnown(db, reqs, known);
  const items = reqs.flatMap((req, r) =>
    req.gen.slo.objectives.map((_, o) => ({ r, o, sid: series.get(req.gen.uid)?.get(o), windows: windowsAt(req, req.windowsMs), events: undefined as Counts[] | undefined })),
  );
  const bySignature = new Map<string, typeof items>();
  for (const it of items) {
    if (it.sid === undefined) {
      it.events = it.windows.map(() => ({ good: 0, total: 0 }));
      continue;
    }
    const signature = it.windows.map((w) => `${w.from}:${w.to}`).join(',');
    const list = bySignature.get(signature) ?? [];
    list.push(it);
    bySignature.set(signature, list);
  }
  for (const list of bySignature.values()) {
    const ids = [...new Set(list.map((it) => it.sid!))];
    const sums = new Map<number, Counts[]>();
    for (let i = 0; i < ids.length; i += SERIES_PER_STATEMENT) {
      const part = ids.slice(i, i + SERIES_PER_STATEMENT);
      (await sumWindows(db, part, list[0]!.windows)).forEach((counts, k) => sums.set(part[k]!, counts));
    }
    for (const it of list) it.events = sums.get(it.sid!)!;
  }
  const out: ObjectiveMeasure[][] = reqs.map(() => []);
  for (const it of items) {
    const req = reqs[it.r]!;
    const units = await unitsOf(db, req.gen.slo, it.o, it.sid, it.windows, it.events!);
    out[it.r]!.push(objectiveMeasure(req.gen.slo, it.o, req, req.windowsMs, it.events!, units, 0));
  }
  return out;
}
