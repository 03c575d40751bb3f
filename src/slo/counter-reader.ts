/**
 * Window sums over the counter tables: each window is decomposed into whole buckets (coarse in
 * the middle, fine at the edges), the union of those ranges is read in one query, and each window
 * is summed from the rows in its own ranges.
 */
import type { Db } from '../store/schema.js';
import { sliceVerdict } from './counter-writer.js';
import { decompose, decomposeSlices, type BucketRange } from './windows.js';

export interface Window {
  from: number;
  to: number;
}

export interface Counts {
  good: number;
  total: number;
}

export interface SliceCounts {
  goodSlices: number;
  totalSlices: number;
  ratioSum: number;
}

function key(r: BucketRange): string {
  return `${r.res}:${r.from}:${r.to}`;
}

/** Sums of good and total per series (in the order of `seriesIds`) and window. */
export async function sumWindows(db: Db, seriesIds: number[], windows: Window[]): Promise<Counts[][]> {
  const out = seriesIds.map(() => windows.map(() => ({ good: 0, total: 0 })));
  if (seriesIds.length === 0 || windows.length === 0) return out;
  const perWindow = windows.map((w) => (w.to > w.from ? decompose(w.from, w.to) : []));
  const ranges = new Map<string, BucketRange>();
  for (const list of perWindow) for (const r of list) ranges.set(key(r), r);
  if (ranges.size === 0) return out;
  const index = new Map(seriesIds.map((id, i) => [id, i]));
  const rows = await db
    .selectFrom('slo_counts')
    .select(['series_id', 'res', 'bucket', 'good', 'total'])
    .where('series_id', 'in', seriesIds)
    .where((eb) => eb.or([...ranges.values()].map((r) => eb.and([eb('res', '=', r.res / 1000), eb('bucket', '>=', r.from), eb('bucket', '<', r.to)]))))
    .execute();
  for (const row of rows) {
    const s = index.get(Number(row.series_id));
    if (s === undefined) continue;
    const res = Number(row.res) * 1000;
    const bucket = Number(row.bucket);
    const good = Number(row.good);
    const total = Number(row.total);
    perWindow.forEach((list, w) => {
      for (const r of list) {
        if (r.res === res && bucket >= r.from && bucket < r.to) {
          const c = out[s]![w]!;
          c.good += good;
          c.total += total;
          return;
        }
      }
    });
  }
  return out;
}

/** Slice verdicts per window: slices that start in the window, from hour/day rollups plus edge slices. */
export async function sumSliceWindows(db: Db, seriesId: number, sliceMs: number, target: number | undefined, windows: Window[]): Promise<SliceCounts[]> {
  const out = windows.map(() => ({ goodSlices: 0, totalSlices: 0, ratioSum: 0 }));
  const parts = windows.map((w) => (w.to > w.from ? decomposeSlices(w.from, w.to, sliceMs) : { rollups: [], slices: [] }));
  const rollups = new Map<string, BucketRange>();
  const edges = new Map<string, { from: number; to: number }>();
  for (const p of parts) {
    for (const r of p.rollups) rollups.set(key(r), r);
    for (const e of p.slices) edges.set(`${e.from}:${e.to}`, e);
  }
  if (rollups.size > 0) {
    const rows = await db
      .selectFrom('slo_slice_rollups')
      .select(['res', 'bucket', 'good_slices', 'total_slices', 'ratio_sum'])
      .where('series_id', '=', seriesId)
      .where((eb) => eb.or([...rollups.values()].map((r) => eb.and([eb('res', '=', r.res / 1000), eb('bucket', '>=', r.from), eb('bucket', '<', r.to)]))))
      .execute();
    for (const row of rows) {
      const res = Number(row.res) * 1000;
      const bucket = Number(row.bucket);
      parts.forEach((p, w) => {
        if (p.rollups.some((r) => r.res === res && bucket >= r.from && bucket < r.to)) {
          out[w]!.goodSlices += Number(row.good_slices);
          out[w]!.totalSlices += Number(row.total_slices);
          out[w]!.ratioSum += Number(row.ratio_sum);
        }
      });
    }
  }
  if (edges.size > 0) {
    const rows = await db
      .selectFrom('slo_slices')
      .select(['bucket', 'good', 'total'])
      .where('series_id', '=', seriesId)
      .where((eb) => eb.or([...edges.values()].map((e) => eb.and([eb('bucket', '>=', e.from), eb('bucket', '<', e.to)]))))
      .execute();
    for (const row of rows) {
      const bucket = Number(row.bucket);
      const v = sliceVerdict(Number(row.good), Number(row.total), target);
      parts.forEach((p, w) => {
        if (p.slices.some((e) => bucket >= e.from && bucket < e.to)) {
          out[w]!.goodSlices += v.good;
          out[w]!.totalSlices += v.counted;
          out[w]!.ratioSum += v.ratio;
        }
      });
    }
  }
  return out;
}
