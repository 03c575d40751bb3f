/**
 * Writes fold results into the counter tables inside the caller's transaction: every 10 s cell is
 * added to its 10 s, 1 min, 1 h and 1 day buckets (additive upserts, so the live aggregator and a
 * backfill can write the same rows), breakdown combinations beyond the cap go to `__other__` so
 * totals stay exact, and time slices update their verdict rollups from the slice's before and
 * after counts.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { BucketCells, FoldResult } from './fold.js';
import { OTHER, type ResolvedSlo } from './model.js';
import { fineRetentionMs, retentionMs } from './retention.js';
import { DAY, HOUR, floorTo } from './windows.js';

export const LEVEL_SECONDS = [10, 60, 3600, 86400] as const;
const CHUNK = 1000;

export interface GenInfo {
  slo: ResolvedSlo;
  kind: 'ratio' | 'threshold';
}

export const OVERALL = '';
export const OTHER_KEY = JSON.stringify([OTHER]);

/** Slice rollup sizes (ms) usable for a slice length: whole multiples of it. */
export function sliceRollupLevels(sliceMs: number): number[] {
  return [HOUR, DAY].filter((l) => l >= sliceMs && l % sliceMs === 0);
}

export function sliceVerdict(good: number, total: number, target: number | undefined): { counted: number; good: number; ratio: number } {
  if (total <= 0) return { counted: 0, good: 0, ratio: 0 };
  const ratio = good / total;
  return { counted: 1, good: target !== undefined && ratio >= target ? 1 : 0, ratio };
}

export class CounterWriter {
  private readonly series = new Map<string, number>();
  private readonly combos = new Map<string, number>();
  private dirty = false;

  constructor(private readonly maxBreakdownValues: number) {}

  /** Before each transaction: a failed one may have cached ids of rows that rolled back. */
  begin(): void {
    if (this.dirty) {
      this.series.clear();
      this.combos.clear();
    }
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
  async write(trx: Transaction<Database>, info: (uid: string) => GenInfo | undefined, deltas: FoldResult, now: number): Promise<void> {
    const rows = new Map<string, { series_id: number; res: number; bucket: number; good: number; total: number }>();
    let fineFrom = 0;
    let keepFrom = 0;
    const addCells = (sid: number, cells: BucketCells) => {
      for (const [bucket, c] of cells.cells) {
        if (bucket < keepFrom) continue;
        for (const res of LEVEL_SECONDS) {
          if (res === 10 && bucket < fineFrom) continue;
          const b = floorTo(bucket, res * 1000);
          const k = `${sid}:${res}:${b}`;
          const row = rows.get(k);
          if (row) {
            row.good += c.good;
            row.total += c.total;
          } else rows.set(k, { series_id: sid, res, bucket: b, good: c.good, total: c.total });
        }
      }
    };
    for (const d of deltas.values()) {
      const gen = info(d.uid);
      if (!gen) continue;
      fineFrom = now - fineRetentionMs(gen.slo);
      keepFrom = now - retentionMs(gen.slo);
      for (let o = 0; o < gen.slo.objectives.length; o++) {
        const stream = d.streams[gen.kind === 'ratio' ? 0 : o];
        if (!stream || stream.all.cells.size === 0) continue;
        const overall = await this.seriesId(trx, d.uid, o, OVERALL);
        addCells(overall, stream.all);
        for (const combo of stream.combos) {
          addCells(await this.comboId(trx, d.uid, o, JSON.stringify(combo.values)), combo.cells);
        }
        const objective = gen.slo.objectives[o]!;
        if (gen.slo.method !== 'Occurrences' && objective.timeSliceMs) {
          await this.writeSlices(trx, overall, stream.all, objective.timeSliceMs, objective.timeSliceTarget, keepFrom);
        }
      }
    }
    const list = [...rows.values()];
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
  }

  private async writeSlices(trx: Transaction<Database>, sid: number, cells: BucketCells, sliceMs: number, target: number | undefined, keepFrom: number): Promise<void> {
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
    const rollups = new Map<string, { series_id: number; res: number; bucket: number; good_slices: number; total_slices: number; ratio_sum: number }>();
    for (const [bucket, delta] of slices) {
      const after = await trx
        .insertInto('slo_slices')
        .values({ series_id: sid, bucket, good: delta.good, total: delta.total })
        .onConflict((oc) =>
          oc.columns(['series_id', 'bucket']).doUpdateSet({ good: sql`slo_slices.good + excluded.good`, total: sql`slo_slices.total + excluded.total` }),
        )
        .returning(['good', 'total'])
        .executeTakeFirstOrThrow();
      const now = sliceVerdict(Number(after.good), Number(after.total), target);
      const was = sliceVerdict(Number(after.good) - delta.good, Number(after.total) - delta.total, target);
      if (now.counted === was.counted && now.good === was.good && now.ratio === was.ratio) continue;
      for (const level of sliceRollupLevels(sliceMs)) {
        const b = floorTo(bucket, level);
        const res = level / 1000;
        const k = `${res}:${b}`;
        const r = rollups.get(k) ?? { series_id: sid, res, bucket: b, good_slices: 0, total_slices: 0, ratio_sum: 0 };
        r.good_slices += now.good - was.good;
        r.total_slices += now.counted - was.counted;
        r.ratio_sum += now.ratio - was.ratio;
        rollups.set(k, r);
      }
    }
    const list = [...rollups.values()];
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

  /** A breakdown combination's series, or `__other__` once the objective has its cap of combinations. */
  private async comboId(trx: Transaction<Database>, uid: string, objective: number, breakdown: string): Promise<number> {
    const key = `${uid}|${objective}|${breakdown}`;
    const known = this.series.get(key);
    if (known !== undefined) return known;
    const existing = await this.findSeries(trx, uid, objective, breakdown);
    if (existing !== undefined) {
      this.series.set(key, existing);
      return existing;
    }
    const ck = `${uid}|${objective}`;
    let count = this.combos.get(ck);
    if (count === undefined) {
      const r = await trx
        .selectFrom('slo_series')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('gen_uid', '=', uid)
        .where('objective', '=', objective)
        .where('breakdown', 'not in', [OVERALL, OTHER_KEY])
        .executeTakeFirst();
      count = Number(r?.n ?? 0);
    }
    if (count >= this.maxBreakdownValues) {
      this.combos.set(ck, count);
      return this.seriesId(trx, uid, objective, OTHER_KEY);
    }
    const id = await this.seriesId(trx, uid, objective, breakdown);
    this.combos.set(ck, count + 1);
    return id;
  }

  async seriesId(trx: Transaction<Database>, uid: string, objective: number, breakdown: string): Promise<number> {
    const key = `${uid}|${objective}|${breakdown}`;
    const known = this.series.get(key);
    if (known !== undefined) return known;
    await trx.insertInto('slo_series').values({ gen_uid: uid, objective, breakdown }).onConflict((oc) => oc.columns(['gen_uid', 'objective', 'breakdown']).doNothing()).execute();
    const id = await this.findSeries(trx, uid, objective, breakdown);
    if (id === undefined) throw new Error(`series ${key} vanished`);
    this.series.set(key, id);
    return id;
  }

  private async findSeries(trx: Transaction<Database>, uid: string, objective: number, breakdown: string): Promise<number | undefined> {
    const row = await trx
      .selectFrom('slo_series')
      .select('id')
      .where('gen_uid', '=', uid)
      .where('objective', '=', objective)
      .where('breakdown', '=', breakdown)
      .executeTakeFirst();
    return row ? Number(row.id) : undefined;
  }
}
