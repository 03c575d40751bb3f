/**
 * Window sums over the counter tables: each window is decomposed into whole buckets (coarse in
 * the middle, fine at the edges), the union of those ranges is read in one query, and each window
 * is summed from the rows in its own ranges.
 *
 * The query is one `SELECT` per disjoint range joined by `UNION ALL`, not one `SELECT` whose
 * `WHERE` ORs the ranges: on SQLite the counter tables are `WITHOUT ROWID` (migration 0830), and
 * SQLite's OR-by-union plan needs rowids, so an OR of ranges seeks only the series and reads every
 * row it has kept (all resolutions, 34 days) to filter them. Each `SELECT` of the union seeks its
 * range in the primary key. The ranges are merged per resolution first, so no row is read twice.
 */
import type { Db } from '../store/schema.js';
import { disjointRanges } from './windows.js';
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
  const read = (r: BucketRange) =>
    db
      .selectFrom('slo_counts')
      .select(['series_id', 'res', 'bucket', 'good', 'total'])
      .where('series_id', 'in', seriesIds)
      .where('res', '=', r.res / 1000)
      .where('bucket', '>=', r.from)
      .where('bucket', '<', r.to);
  const [first, ...more] = windows.length > SPAN_READ_WINDOWS ? spans(ranges.values()) : disjointRanges(ranges.values());
  const rows = await more.reduce((q, r) => q.unionAll(read(r)), read(first!)).execute();
  // Rows by series and resolution, sorted by bucket, with running sums: each range of each window
  // is then two binary searches, however many windows (a chart's points) share the rows.
  const groups = new Map<string, { buckets: number[]; good: number[]; total: number[] }>();
  const sorted = rows
    .map((r) => ({ s: index.get(Number(r.series_id)), res: Number(r.res) * 1000, bucket: Number(r.bucket), good: Number(r.good), total: Number(r.total) }))
    .filter((r) => r.s !== undefined)
    .sort((a, b) => a.bucket - b.bucket);
  for (const r of sorted) {
    const k = `${r.s}:${r.res}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { buckets: [], good: [0], total: [0] }));
    g.buckets.push(r.bucket);
    g.good.push(g.good[g.good.length - 1]! + r.good);
    g.total.push(g.total[g.total.length - 1]! + r.total);
  }
  seriesIds.forEach((_, s) => {
    perWindow.forEach((list, w) => {
      const c = out[s]![w]!;
      for (const r of list) {
        const g = groups.get(`${s}:${r.res}`);
        if (!g) continue;
        const lo = lowerBound(g.buckets, r.from);
        const hi = lowerBound(g.buckets, r.to);
        c.good += g.good[hi]! - g.good[lo]!;
        c.total += g.total[hi]! - g.total[lo]!;
      }
    });
  });
  return out;
}

/**
 * Above this many windows (a chart's points, not an evaluation's few windows) the rows are read as
 * one span per resolution: hundreds of overlapping ranges made one query the database plans slowly
 * (a 30-day chart: 1,030 ms → 107 ms), while a span over few windows would read far more rows than
 * their ranges. Sums stay exact either way: each window's ranges are summed alone.
 */
const SPAN_READ_WINDOWS = 64;

/** Per resolution, one span from the earliest start to the latest end of the ranges. */
function spans(ranges: Iterable<BucketRange>): BucketRange[] {
  const list = [...ranges];
  const byRes = new Map<number, BucketRange>();
  for (const r of list) {
    const s = byRes.get(r.res);
    byRes.set(r.res, s ? { res: r.res, from: Math.min(s.from, r.from), to: Math.max(s.to, r.to) } : { ...r });
  }
  return [...byRes.values()];
}

/** The first index whose value is at least `v` (the array ascending). */
function lowerBound(values: number[], v: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
    const read = (r: BucketRange) =>
      db
        .selectFrom('slo_slice_rollups')
        .select(['res', 'bucket', 'good_slices', 'total_slices', 'ratio_sum'])
        .where('series_id', '=', seriesId)
        .where('res', '=', r.res / 1000)
        .where('bucket', '>=', r.from)
        .where('bucket', '<', r.to);
    const [first, ...more] = disjointRanges(rollups.values());
    const rows = await more.reduce((q, r) => q.unionAll(read(r)), read(first!)).execute();
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
    const read = (e: BucketRange) => db.selectFrom('slo_slices').select(['bucket', 'good', 'total']).where('series_id', '=', seriesId).where('bucket', '>=', e.from).where('bucket', '<', e.to);
    const [first, ...more] = disjointRanges([...edges.values()].map((e) => ({ res: sliceMs, ...e })));
    const rows = await more.reduce((q, r) => q.unionAll(read(r)), read(first!)).execute();
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
