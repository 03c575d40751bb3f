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
  const rows = await db.selectFrom('slo_series').select(['id', 'objective']).where('gen_uid', '=', uid).where('breakdown', '=', OVERALL).execute();
  return new Map(rows.map((r) => [Number(r.objective), Number(r.id)]));
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
  const windows: Window[] = points.flatMap((p) => [{ from: p.sloWindow.start, to: p.sloWindow.end }, ...windowsMs.map((ms) => ({ from: p.end - ms, to: p.end }))]);
  const out: ObjectiveMeasure[][] = points.map(() => []);
  for (let o = 0; o < gen.slo.objectives.length; o++) {
    const objective = gen.slo.objectives[o]!;
    const sid = ids.get(o);
    const events = sid === undefined ? windows.map(() => ({ good: 0, total: 0 })) : (await sumWindows(db, [sid], windows))[0]!;
    let units: Units[] = events;
    if (gen.slo.method !== 'Occurrences' && objective.timeSliceMs) {
      const slices =
        sid === undefined ? windows.map(() => ({ goodSlices: 0, totalSlices: 0, ratioSum: 0 })) : await sumSliceWindows(db, sid, objective.timeSliceMs, objective.timeSliceTarget, windows);
      units = slices.map((s) => (gen.slo.method === 'Timeslices' ? { good: s.goodSlices, total: s.totalSlices } : { good: s.ratioSum, total: s.totalSlices }));
    }
    points.forEach((p, i) => {
      const at = i * per;
      out[i]!.push({
        objective: o,
        target: objective.target,
        sloWindow: p.sloWindow,
        slo: { events: events[at]!, units: units[at]! },
        windows: new Map(windowsMs.map((ms, k) => [ms, { events: events[at + 1 + k]!, units: units[at + 1 + k]! }])),
      });
    });
  }
  return out;
}
