/**
 * The SLO half of `keel verify counts` (processing/count-check.ts runs it): every current, fully
 * backfilled generation's counters recomputed from the readable log with the aggregator's own fold
 * (`foldBatch` on the compiled tenant plan) and roll-up (`forEachLevelBucket`), compared with the
 * stored `slo_counts` of its overall series, per objective, resolution and bucket of event time.
 *
 * Why the comparison is exact: a generation's counters are its backfill (batches up to the
 * position it claimed, per partition) plus the live aggregator (batches after it, committed with
 * the `slo` position); once the backfill is done, they stand for every batch up to that position,
 * which is what this check is handed. What it leaves out, and says so:
 * - generations still backfilling (their counters are still being written);
 * - buckets older than the SLO's counter retention (pruned, and not written when late) or than
 *   what the log still holds, or before `since`;
 * - breakdown series (which combinations get a series of their own depends on arrival order) and
 *   time-slice verdicts (derived from the same counts);
 * - retired generations: an SLO whose counting changed is counted anew by its new generation,
 *   backfilled from the log, so it is compared over the whole range whatever changed in it.
 */
import type { Transaction } from 'kysely';
import type { LogBatch } from '../log/event-log.js';
import type { CountCheck, CountCheckRange } from '../processing/count-check.js';
import type { Database } from '../store/schema.js';
import { SLO_CONSUMER } from './aggregator.js';
import { compileTenantPlan, type TenantPlan } from './compiled.js';
import { forEachLevelBucket, OVERALL } from './counter-writer.js';
import { foldBatch, FoldResult } from './fold.js';
import { currentGenerations, type Generation } from './generations.js';
import { fineRetentionMs, retentionMs } from './retention.js';
import { floorTo } from './windows.js';

/** Clocks of the processes that wrote the counters may run this far ahead of this one. */
const CLOCK_SKEW_MS = 5 * 60_000;
/** Events may be stamped this far after their arrival (ingest.maxFutureSkew's default). */
const FUTURE_SKEW_MS = 5 * 60_000;
const MINUTE = 60_000;
const MAX_IDS = 50;
const MAX_DIFFERENCES = 500;
/** A batch whose events span more minutes than this is not attributed to each of them. */
const MAX_ATTRIBUTED_MINUTES = 24 * 60;

export interface SloCounts {
  good: number;
  bad: number;
  total: number;
}

export interface SloCountDifference {
  tenant: string;
  slo: string;
  generation: string;
  objective: number;
  /** Bucket size in seconds: 10, 60, 3600 or 86400. */
  resolution: number;
  bucket: number;
  log: SloCounts;
  counted: SloCounts;
  /** Ids of the log's batches holding events of this bucket's time (up to 50), and their partitions. */
  batches: string[];
  partitions: number[];
}

export interface SloVerifyReport {
  /** Per compared generation: the first bucket compared at 10 s and at coarser resolutions. */
  slos: { tenant: string; slo: string; generation: string; appliedAt: number; fineFrom: number; from: number; limitedBy?: 'log retention' | 'slo retention' }[];
  skipped: { tenant: string; slo: string; generation: string; reason: string }[];
  buckets: number;
  /** Differences found (the list stops at 500). */
  differenceCount: number;
  differences: SloCountDifference[];
}

interface Checked {
  gen: Generation;
  fineFrom: number;
  from: number;
  limitedBy?: 'log retention' | 'slo retention';
}

export class SloCountCheck implements CountCheck<SloVerifyReport> {
  readonly consumer = SLO_CONSUMER;
  private checked: Checked[] = [];
  private skipped: SloVerifyReport['skipped'] = [];
  private readonly plans = new Map<string, TenantPlan>();
  private readonly deltas = new FoldResult();
  /** `${uid}|${objective}|${res}|${bucket}` → stored good and total. */
  private counted = new Map<string, { good: number; total: number }>();
  /** `${tenant}|${minute}` → batches whose events' times cover that minute. */
  private readonly attribution = new Map<string, { id: string; partition: number }[]>();
  private earliest = Infinity;

  async load(trx: Transaction<Database>, range: CountCheckRange): Promise<void> {
    const byTenant = new Map<string, Generation[]>();
    for (const gen of await currentGenerations(trx)) {
      if (gen.status !== 'ready') {
        this.skipped.push({ tenant: gen.tenant, slo: gen.name, generation: gen.uid, reason: 'its backfill has not finished (compared once it has)' });
        continue;
      }
      const c: Checked = { gen, fineFrom: 0, from: 0 };
      const floorFrom = (retention: number) => {
        let at = range.since;
        let why: Checked['limitedBy'];
        // A batch retention removed may hold events stamped up to ingest.maxFutureSkew (5 min by
        // default) after its arrival: buckets that close to the pruned range are not compared.
        const logFrom = range.logCoveredFrom === undefined ? undefined : range.logCoveredFrom + FUTURE_SKEW_MS;
        if (logFrom !== undefined && logFrom > at) [at, why] = [logFrom, 'log retention'];
        if (range.now - retention + CLOCK_SKEW_MS > at) [at, why] = [range.now - retention + CLOCK_SKEW_MS, 'slo retention'];
        return { at, why };
      };
      const coarse = floorFrom(retentionMs(gen.slo));
      c.from = coarse.at;
      if (coarse.why) c.limitedBy = coarse.why;
      c.fineFrom = floorFrom(fineRetentionMs(gen.slo)).at;
      this.earliest = Math.min(this.earliest, c.from, c.fineFrom);
      this.checked.push(c);
      byTenant.set(gen.tenant, [...(byTenant.get(gen.tenant) ?? []), gen]);
    }
    for (const [tenant, gens] of byTenant) this.plans.set(tenant, compileTenantPlan(tenant, gens));
    const uids = this.checked.map((c) => c.gen.uid);
    for (let i = 0; i < uids.length; i += 200) {
      const rows = await trx
        .selectFrom('slo_counts')
        .innerJoin('slo_series', 'slo_series.id', 'slo_counts.series_id')
        .select(['slo_series.gen_uid', 'slo_series.objective', 'slo_counts.res', 'slo_counts.bucket', 'slo_counts.good', 'slo_counts.total'])
        .where('slo_series.gen_uid', 'in', uids.slice(i, i + 200))
        .where('slo_series.breakdown', '=', OVERALL)
        .where('slo_counts.bucket', '>=', floorTo(this.earliest, 86_400_000))
        .execute();
      for (const r of rows) {
        this.counted.set(`${r.gen_uid}|${Number(r.objective)}|${Number(r.res)}|${Number(r.bucket)}`, { good: Number(r.good), total: Number(r.total) });
      }
    }
  }

  add(batches: readonly LogBatch[]): void {
    for (const b of batches) {
      const plan = this.plans.get(b.tenant);
      if (!plan) continue;
      // Every generation compared here counts every batch it is handed (see the file comment).
      if (foldBatch(plan, b, 'all', this.deltas) === 0) continue;
      const first = floorTo(Math.max(b.minTs, this.earliest), MINUTE);
      const last = Math.min(floorTo(b.maxTs, MINUTE), first + MAX_ATTRIBUTED_MINUTES * MINUTE);
      for (let m = first; m <= last; m += MINUTE) {
        const k = `${b.tenant}|${m}`;
        const list = this.attribution.get(k) ?? [];
        if (list.length < MAX_IDS) list.push({ id: b.id ?? `position ${b.position}`, partition: b.partition });
        this.attribution.set(k, list);
      }
    }
  }

  result(): SloVerifyReport {
    const report: SloVerifyReport = {
      slos: this.checked.map((c) => ({
        tenant: c.gen.tenant,
        slo: c.gen.name,
        generation: c.gen.uid,
        appliedAt: c.gen.createdAt,
        fineFrom: c.fineFrom,
        from: c.from,
        ...(c.limitedBy ? { limitedBy: c.limitedBy } : {}),
      })),
      skipped: this.skipped,
      buckets: 0,
      differenceCount: 0,
      differences: [],
    };
    for (const c of this.checked) {
      const { gen } = c;
      const compared = (res: number, bucket: number) => bucket >= (res === 10 ? c.fineFrom : c.from);
      const fromLog = new Map<string, { good: number; total: number }>();
      const delta = this.deltas.get(gen.uid);
      for (let o = 0; o < gen.slo.objectives.length; o++) {
        const cells = delta?.streams[gen.slo.indicator.kind === 'ratio' ? 0 : o]?.all;
        if (!cells) continue;
        forEachLevelBucket(cells, c.fineFrom, Math.min(c.from, c.fineFrom), (res, bucket, good, total) => {
          if (!compared(res, bucket)) return;
          const k = `${gen.uid}|${o}|${res}|${bucket}`;
          const acc = fromLog.get(k) ?? { good: 0, total: 0 };
          acc.good += good;
          acc.total += total;
          fromLog.set(k, acc);
        });
      }
      const keys = new Set(fromLog.keys());
      for (const k of this.counted.keys()) {
        const [uid, , res, bucket] = k.split('|');
        if (uid === gen.uid && compared(Number(res), Number(bucket))) keys.add(k);
      }
      for (const k of keys) {
        report.buckets++;
        const l = fromLog.get(k) ?? { good: 0, total: 0 };
        const s = this.counted.get(k) ?? { good: 0, total: 0 };
        if (l.good === s.good && l.total === s.total) continue;
        report.differenceCount++;
        if (report.differences.length >= MAX_DIFFERENCES) continue;
        const [, objective, res, bucket] = k.split('|').map(Number) as [number, number, number, number];
        const batches = new Map<string, number>();
        for (let m = floorTo(bucket, MINUTE); m < bucket + res * 1000 && batches.size < MAX_IDS; m += MINUTE) {
          for (const b of this.attribution.get(`${gen.tenant}|${m}`) ?? []) if (batches.size < MAX_IDS) batches.set(b.id, b.partition);
        }
        report.differences.push({
          tenant: gen.tenant,
          slo: gen.name,
          generation: gen.uid,
          objective,
          resolution: res,
          bucket,
          log: { good: l.good, bad: l.total - l.good, total: l.total },
          counted: { good: s.good, bad: s.total - s.good, total: s.total },
          batches: [...batches.keys()],
          partitions: [...new Set(batches.values())].sort((a, b) => a - b),
        });
      }
    }
    report.differences.sort((a, b) => a.tenant.localeCompare(b.tenant) || a.slo.localeCompare(b.slo) || a.objective - b.objective || a.resolution - b.resolution || a.bucket - b.bucket);
    return report;
  }
}
