/**
 * Writes fold results into the counter tables inside the caller's transaction: every 10 s cell is
 * added to its 10 s, 1 min, 1 h and 1 day buckets (additive upserts, so the live aggregator, the
 * workers of other partitions and a backfill can write the same rows, in one lock order), breakdown
 * combinations beyond the cap go to `__other__` so
 * totals stay exact, and time slices update their verdict rollups from the slice's before and
 * after counts.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { BucketCells, type FoldDeltas, type StreamDelta } from './fold-cells.js';
import { capClass, marginalKey, OVERALL } from './breakdown-keys.js';
import type { ResolvedSlo } from './model.js';
import { fineRetentionMs, retentionMs } from './retention.js';
import { DAY, HOUR, floorTo } from './windows.js';

export const LEVEL_SECONDS = [10, 60, 3600, 86400] as const;
const CHUNK = 1000;

export interface GenInfo {
  slo: ResolvedSlo;
  kind: 'ratio' | 'threshold';
}

export { OTHER_KEY, OVERALL } from './breakdown-keys.js';

/** Slice rollup sizes (ms) usable for a slice length: whole multiples of it. */
export function sliceRollupLevels(sliceMs: number): number[] {
  return [HOUR, DAY].filter((l) => l >= sliceMs && l % sliceMs === 0);
}

export function sliceVerdict(good: number, total: number, target: number | undefined): { counted: number; good: number; ratio: number } {
  if (total <= 0) return { counted: 0, good: 0, ratio: 0 };
  const ratio = good / total;
  return { counted: 1, good: target !== undefined && ratio >= target ? 1 : 0, ratio };
}

/** `${uid}|${objective}|${breakdown}`: a series' key, and the order its row is locked in. */
const seriesKey = (uid: string, objective: number, breakdown: string) => `${uid}|${objective}|${breakdown}`;
const byKey = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

interface CountRow {
  series_id: number;
  res: number;
  bucket: number;
  good: number;
  total: number;
}

interface SliceWork {
  sid: number;
  slices: Map<number, { good: number; total: number }>;
  sliceMs: number;
  target: number | undefined;
}

/**
 * Every transaction takes its row locks in one global order: series rows by key, then counts by
 * (series, resolution, bucket), then slices by (series, bucket), then slice rollups. Workers of
 * different partitions folding into the same SLOs then wait for each other but never deadlock
 * (in the distributed mode PostgreSQL used to log `deadlock detected` a dozen times in a run).
 */
export class CounterWriter {
  private readonly series = new Map<string, number>();
  private dirty = false;

  constructor(private readonly maxBreakdownValues: number) {}

  /** Before each transaction: a failed one may have cached ids of rows that rolled back. */
  begin(): void {
    if (this.dirty) this.series.clear();
    this.dirty = true;
  }

  committed(): void {
    this.dirty = false;
  }

  /**
   * Adds the fold's cells. Cells older than their retention at `now` are not written: pruning
   * would delete them at once, and old events spread over many buckets would otherwise make a
   * backfill write a row per event.
   */
  async write(trx: Transaction<Database>, info: (uid: string) => GenInfo | undefined, deltas: FoldDeltas, now: number): Promise<void> {
    const targets: { uid: string; objective: number; gen: GenInfo; stream: StreamDelta }[] = [];
    for (const d of deltas.values()) {
      const gen = info(d.uid);
      if (!gen) continue;
      for (let o = 0; o < gen.slo.objectives.length; o++) {
        const stream = d.streams[gen.kind === 'ratio' ? 0 : o];
        if (stream && stream.all.cells.size > 0) targets.push({ uid: d.uid, objective: o, gen, stream });
      }
    }
    // Per-attribute marginals (with two or more breakdown attributes): each attribute's values
    // stay findable when the combinations outgrow their cap.
    const marginals = targets.map((t) => (t.gen.slo.breakdown.length > 1 ? marginalCells(t.stream) : new Map<string, BucketCells>()));
    await this.resolveSeries(
      trx,
      targets.map((t, i) => ({ uid: t.uid, objective: t.objective, combos: [...t.stream.combos.map((c) => JSON.stringify(c.values)), ...marginals[i]!.keys()] })),
    );
    const rows = new Map<string, CountRow>();
    const slices: SliceWork[] = [];
    targets.forEach(({ uid, objective: o, gen, stream }, t) => {
      const fineFrom = now - fineRetentionMs(gen.slo);
      const keepFrom = now - retentionMs(gen.slo);
      const overall = this.series.get(seriesKey(uid, o, OVERALL))!;
      addCells(rows, overall, stream.all, fineFrom, keepFrom);
      for (const combo of stream.combos) addCells(rows, this.series.get(seriesKey(uid, o, JSON.stringify(combo.values)))!, combo.cells, fineFrom, keepFrom);
      for (const [key, cells] of marginals[t]!) addCells(rows, this.series.get(seriesKey(uid, o, key))!, cells, fineFrom, keepFrom);
      const objective = gen.slo.objectives[o]!;
      if (gen.slo.method !== 'Occurrences' && objective.timeSliceMs) {
        slices.push({ sid: overall, slices: sliceDeltas(stream.all, objective.timeSliceMs, keepFrom), sliceMs: objective.timeSliceMs, target: objective.timeSliceTarget });
      }
    });
    const list = [...rows.values()].sort((a, b) => a.series_id - b.series_id || a.res - b.res || a.bucket - b.bucket);
    for (let i = 0; i < list.length; i += CHUNK) {
      await trx
        .insertInto('slo_counts')
        .values(list.slice(i, i + CHUNK))
        .onConflict((oc) =>
          oc.columns(['series_id', 'res', 'bucket']).doUpdateSet({
            good: sql`slo_counts.good + excluded.good`,
            total: sql`slo_counts.total + excluded.total`,
          }),
        )
        .execute();
    }
    await this.writeSlices(
      trx,
      slices.sort((a, b) => a.sid - b.sid),
    );
  }

  private async writeSlices(trx: Transaction<Database>, work: SliceWork[]): Promise<void> {
    const rollups = new Map<string, { series_id: number; res: number; bucket: number; good_slices: number; total_slices: number; ratio_sum: number }>();
    for (const { sid, slices, sliceMs, target } of work) {
      for (const [bucket, delta] of [...slices].sort((a, b) => a[0] - b[0])) {
        const after = await trx
          .insertInto('slo_slices')
          .values({ series_id: sid, bucket, good: delta.good, total: delta.total })
          .onConflict((oc) => oc.columns(['series_id', 'bucket']).doUpdateSet({ good: sql`slo_slices.good + excluded.good`, total: sql`slo_slices.total + excluded.total` }))
          .returning(['good', 'total'])
          .executeTakeFirstOrThrow();
        const now = sliceVerdict(Number(after.good), Number(after.total), target);
        const was = sliceVerdict(Number(after.good) - delta.good, Number(after.total) - delta.total, target);
        if (now.counted === was.counted && now.good === was.good && now.ratio === was.ratio) continue;
        for (const level of sliceRollupLevels(sliceMs)) {
          const b = floorTo(bucket, level);
          const res = level / 1000;
          const k = `${sid}:${res}:${b}`;
          const r = rollups.get(k) ?? { series_id: sid, res, bucket: b, good_slices: 0, total_slices: 0, ratio_sum: 0 };
          r.good_slices += now.good - was.good;
          r.total_slices += now.counted - was.counted;
          r.ratio_sum += now.ratio - was.ratio;
          rollups.set(k, r);
        }
      }
    }
    const list = [...rollups.values()].sort((a, b) => a.series_id - b.series_id || a.res - b.res || a.bucket - b.bucket);
    for (let i = 0; i < list.length; i += CHUNK) {
      await trx
        .insertInto('slo_slice_rollups')
        .values(list.slice(i, i + CHUNK))
        .onConflict((oc) =>
          oc.columns(['series_id', 'res', 'bucket']).doUpdateSet({
            good_slices: sql`slo_slice_rollups.good_slices + excluded.good_slices`,
            total_slices: sql`slo_slice_rollups.total_slices + excluded.total_slices`,
            ratio_sum: sql`slo_slice_rollups.ratio_sum + excluded.ratio_sum`,
          }),
        )
        .execute();
    }
  }

  /**
   * Makes sure every series the write needs exists and its id is cached: the overall series of
   * each objective and one per breakdown combination, or `__other__` once the objective has its
   * cap of combinations (new combinations are admitted in key order). Missing rows are created in
   * one insert sorted by key, so concurrent writers lock them in the same order.
   */
  private async resolveSeries(trx: Transaction<Database>, groups: { uid: string; objective: number; combos: string[] }[]): Promise<void> {
    const cached = (uid: string, o: number, b: string) => this.series.has(seriesKey(uid, o, b));
    if (groups.every((g) => cached(g.uid, g.objective, OVERALL) && g.combos.every((c) => cached(g.uid, g.objective, c)))) return;
    const uids = [...new Set(groups.map((g) => g.uid))];
    const known = new Map<string, number>();
    const counts = new Map<string, number>();
    const load = async () => {
      for (const r of await trx.selectFrom('slo_series').select(['id', 'gen_uid', 'objective', 'breakdown']).where('gen_uid', 'in', uids).execute()) {
        const cap = capClass(r.breakdown);
        if (!known.has(seriesKey(r.gen_uid, Number(r.objective), r.breakdown)) && cap && !cap.isOther) {
          const ck = `${r.gen_uid}|${r.objective}|${cap.cls}`;
          counts.set(ck, (counts.get(ck) ?? 0) + 1);
        }
        known.set(seriesKey(r.gen_uid, Number(r.objective), r.breakdown), Number(r.id));
      }
    };
    await load();
    const create = new Map<string, { gen_uid: string; objective: number; breakdown: string }>();
    const alias = new Map<string, string>();
    for (const g of groups) {
      const want = (b: string) => {
        const key = seriesKey(g.uid, g.objective, b);
        if (!known.has(key)) create.set(key, { gen_uid: g.uid, objective: g.objective, breakdown: b });
        return key;
      };
      want(OVERALL);
      for (const c of [...new Set(g.combos)].sort()) {
        const key = seriesKey(g.uid, g.objective, c);
        if (known.has(key) || create.has(key)) continue;
        const cap = capClass(c)!;
        const ck = `${g.uid}|${g.objective}|${cap.cls}`;
        const count = counts.get(ck) ?? 0;
        if (count < this.maxBreakdownValues) {
          want(c);
          counts.set(ck, count + 1);
        } else alias.set(key, want(cap.other));
      }
    }
    if (create.size > 0) {
      const list = [...create.entries()].sort(byKey).map(([, v]) => v);
      for (let i = 0; i < list.length; i += CHUNK) {
        await trx
          .insertInto('slo_series')
          .values(list.slice(i, i + CHUNK))
          .onConflict((oc) => oc.columns(['gen_uid', 'objective', 'breakdown']).doNothing())
          .execute();
      }
      await load();
    }
    for (const [key, id] of known) this.series.set(key, id);
    for (const [key, into] of alias) {
      const id = known.get(into);
      if (id === undefined) throw new Error(`series ${into} vanished`);
      this.series.set(key, id);
    }
    for (const key of create.keys()) if (!known.has(key)) throw new Error(`series ${key} vanished`);
  }
}

/**
 * The buckets a series' 10 s cells are stored in: every cell at each of `LEVEL_SECONDS`, except
 * cells older than `keepFrom` (pruned at once) and, at 10 s, older than `fineFrom`. The writer
 * and `keel verify counts` (verify-counts.ts) both go through here.
 */
export function forEachLevelBucket(cells: BucketCells, fineFrom: number, keepFrom: number, emit: (res: number, bucket: number, good: number, total: number) => void): void {
  for (const [bucket, c] of cells.cells) {
    if (bucket < keepFrom) continue;
    for (const res of LEVEL_SECONDS) {
      if (res === 10 && bucket < fineFrom) continue;
      emit(res, floorTo(bucket, res * 1000), c.good, c.total);
    }
  }
}

function addCells(rows: Map<string, CountRow>, sid: number, cells: BucketCells, fineFrom: number, keepFrom: number): void {
  forEachLevelBucket(cells, fineFrom, keepFrom, (res, b, good, total) => {
    const k = `${sid}:${res}:${b}`;
    const row = rows.get(k);
    if (row) {
      row.good += good;
      row.total += total;
    } else rows.set(k, { series_id: sid, res, bucket: b, good, total });
  });
}

/** Each attribute's values over all combinations of the others: the marginals' cells. */
function marginalCells(stream: StreamDelta): Map<string, BucketCells> {
  const out = new Map<string, BucketCells>();
  for (const combo of stream.combos) {
    combo.values.forEach((value, i) => {
      const key = marginalKey(i, value);
      let cells = out.get(key);
      if (!cells) {
        cells = new BucketCells();
        out.set(key, cells);
      }
      for (const [bucket, c] of combo.cells.cells) cells.addCounts(bucket, c.good, c.total);
    });
  }
  return out;
}

function sliceDeltas(cells: BucketCells, sliceMs: number, keepFrom: number): Map<number, { good: number; total: number }> {
  const slices = new Map<number, { good: number; total: number }>();
  for (const [bucket, c] of cells.cells) {
    if (bucket < keepFrom) continue;
    const s = floorTo(bucket, sliceMs);
    const cur = slices.get(s);
    if (cur) {
      cur.good += c.good;
      cur.total += c.total;
    } else slices.set(s, { good: c.good, total: c.total });
  }
  return slices;
}
