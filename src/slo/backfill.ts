/**
 * Backfill: a new or changed SLO is recomputed from the retained event log, so it has history at
 * once. For each log partition the backfill first *claims* the live aggregator's committed
 * position C (under the partition's lock row, in one transaction with a configuration bump): the
 * aggregator counts the generation for batches after C, the backfill for batches up to C. The
 * backfill's own cursor commits with the counters it writes, so a crash resumes where it stopped
 * and nothing is counted twice.
 *
 * Only batches that may hold events inside the SLO's retention horizon (its window plus three days)
 * are read. Batches that log retention deletes before the backfill reaches them are not counted.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { EventLog } from '../log/event-log.js';
import { readPosition } from '../processing/positions.js';
import type { Database, DbFence } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { SLO_CONSUMER } from './aggregator.js';
import { compileTenantPlan } from './compiled.js';
import { CounterWriter } from './counter-writer.js';
import { foldBatch, FoldResult } from './fold.js';
import { backfillingGenerations, backfillPartitions, type BackfillPartition, type Generation } from './generations.js';
import { bumpVersion, lockPartition } from './meta.js';
import type { SloMetrics } from './metrics.js';
import { retentionMs } from './retention.js';

const MAX_BATCHES = 64;
const MAX_BYTES = 16 * 1024 * 1024;

export interface BackfillDeps {
  db: Kysely<Database>;
  log: EventLog;
  clock: Clock;
  logger: Logger;
  metrics: SloMetrics;
  maxBreakdownValues: number;
}

export class Backfiller {
  private readonly writer: CounterWriter;

  constructor(private readonly deps: BackfillDeps) {
    this.writer = new CounterWriter(deps.maxBreakdownValues);
  }

  /**
   * Claims new generations and advances one tenant's backfills by one chunk; true while work
   * remains. `fence` is checked inside every backfill transaction (two backfillers would count the
   * same batches twice); it is passed down, not kept in a field, so a step of a tenure that ended
   * never runs with the next tenure's fence.
   */
  async step(fence?: DbFence): Promise<boolean> {
    const pending = await backfillingGenerations(this.deps.db);
    if (pending.length === 0) return false;
    for (const g of pending) if (g.backfillStartedAt === null) await this.claim(g.uid, fence);
    const tenant = pending[0]!.tenant;
    await this.advance(
      tenant,
      pending.filter((g) => g.tenant === tenant),
      fence,
    );
    return true;
  }

  private async claim(uid: string, fence: DbFence | undefined): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await fence?.(trx);
      for (let p = 0; p < this.deps.log.partitions; p++) await lockPartition(trx, p);
      const gen = await trx.selectFrom('slo_generations').select(['current', 'backfill_started_at']).where('uid', '=', uid).executeTakeFirst();
      if (!gen || Number(gen.current) !== 1 || gen.backfill_started_at !== null) return;
      for (let p = 0; p < this.deps.log.partitions; p++) {
        const position = await readPosition(trx, SLO_CONSUMER, p);
        await trx
          .insertInto('slo_backfill_partitions')
          .values({ gen_uid: uid, partition: p, live_from: position, origin: 0, cursor: 0, done: position === 0 ? 1 : 0 })
          .onConflict((oc) => oc.columns(['gen_uid', 'partition']).doNothing())
          .execute();
      }
      await trx.updateTable('slo_generations').set({ backfill_started_at: now }).where('uid', '=', uid).execute();
      await bumpVersion(trx);
    });
  }

  private async advance(tenant: string, gens: Generation[], fence: DbFence | undefined): Promise<void> {
    const now = this.deps.clock.now();
    const parts = await backfillPartitions(
      this.deps.db,
      gens.map((g) => g.uid),
    );
    const state = new Map<string, Map<number, BackfillPartition>>();
    for (const g of gens) state.set(g.uid, new Map((parts.get(g.uid) ?? []).map((p) => [p.partition, p])));
    const open = [...state.values()].flatMap((m) => [...m.values()].filter((p) => !p.done));
    const finished = new Set<string>();
    const updates: { uid: string; part: BackfillPartition }[] = [];
    const deltas = new FoldResult();
    if (open.length > 0) {
      const after = Math.min(...open.map((p) => p.cursor));
      const horizon = now - Math.max(...gens.map((g) => retentionMs(g.slo)));
      const batches = await this.deps.log.readTenant(tenant, after, { fromTs: horizon, maxBatches: MAX_BATCHES, maxBytes: MAX_BYTES });
      const plan = compileTenantPlan(tenant, gens);
      for (const b of batches) {
        foldBatch(
          plan,
          b,
          (g) => {
            const p = state.get(g.uid)?.get(b.partition);
            return p !== undefined && !p.done && b.position > p.cursor && b.position <= p.liveFrom;
          },
          deltas,
        );
      }
      const lastRead = new Map<number, number>();
      const firstRead = new Map<number, number>();
      for (const b of batches) {
        lastRead.set(b.partition, Math.max(lastRead.get(b.partition) ?? 0, b.position));
        if (!firstRead.has(b.partition)) firstRead.set(b.partition, b.position);
      }
      const lastGlobal = batches.reduce((m, b) => Math.max(m, b.position), 0);
      for (const [uid, m] of state) {
        for (const p of m.values()) {
          if (p.done) continue;
          // Positions are global and readTenant returns the tenant's batches in position order,
          // so the read covers every partition up to the last position it returned: a partition
          // with none of this tenant's batches there moves on too (it used to wait forever).
          const last = batches.length > 0 ? Math.max(lastRead.get(p.partition) ?? 0, lastGlobal) : undefined;
          const next = { ...p };
          if (p.cursor === 0 && p.origin === 0) next.origin = Math.min(p.liveFrom, (firstRead.get(p.partition) ?? p.liveFrom + 1) - 1);
          if (last !== undefined) next.cursor = Math.max(p.cursor, Math.min(last, p.liveFrom));
          if (batches.length === 0 || next.cursor >= p.liveFrom || (last !== undefined && last >= p.liveFrom)) {
            next.done = true;
            next.cursor = p.liveFrom;
          }
          m.set(p.partition, next);
          updates.push({ uid, part: next });
        }
      }
    }
    for (const [uid, m] of state) if ([...m.values()].every((p) => p.done)) finished.add(uid);
    const info = new Map(gens.map((g) => [g.uid, { slo: g.slo, kind: g.slo.indicator.kind }]));
    this.writer.begin();
    let events = 0;
    await this.deps.db.transaction().execute(async (trx) => {
      await fence?.(trx);
      await this.writer.write(trx, (uid) => info.get(uid), deltas, now);
      for (const u of updates) {
        await trx
          .updateTable('slo_backfill_partitions')
          .set({ cursor: u.part.cursor, origin: u.part.origin, done: u.part.done ? 1 : 0 })
          .where('gen_uid', '=', u.uid)
          .where('partition', '=', u.part.partition)
          .execute();
      }
      for (const g of gens) {
        const n = deltas.eventsOf(g.uid);
        events += n;
        const set: Partial<Database['slo_generations']> = {};
        if (finished.has(g.uid)) Object.assign(set, { status: 'ready', backfill_finished_at: now });
        if (n > 0 || finished.has(g.uid)) {
          await trx
            .updateTable('slo_generations')
            .set((eb) => ({ ...set, backfill_events: eb('backfill_events', '+', n) }))
            .where('uid', '=', g.uid)
            .where('current', '=', 1)
            .execute();
        }
      }
    });
    this.writer.committed();
    this.deps.metrics.backfillEvents.inc(events);
    const byUid = new Map(gens.map((g) => [g.uid, { tenant: g.tenant, name: g.name, slo: g.slo, kind: g.slo.indicator.kind }]));
    this.deps.metrics.countCommitted(deltas, (uid) => byUid.get(uid));
    for (const uid of finished) {
      const g = gens.find((x) => x.uid === uid)!;
      this.deps.logger.info({ tenant, slo: g.name, generation: uid, events: g.backfillEvents + deltas.eventsOf(uid) }, 'slo backfill finished');
    }
  }
}

/** Progress of a generation's backfill, for the API and `keel slo backfill status`. */
export function backfillProgress(
  gen: Generation,
  parts: BackfillPartition[],
): {
  state: 'pending' | 'running' | 'done';
  percent: number;
  events: number;
  startedAt: string | null;
  finishedAt: string | null;
  partitions: { partition: number; liveFrom: number; cursor: number; done: boolean }[];
} {
  const state = gen.status !== 'backfilling' ? 'done' : gen.backfillStartedAt === null ? 'pending' : 'running';
  let total = 0;
  let done = 0;
  for (const p of parts) {
    const span = Math.max(0, p.liveFrom - p.origin);
    total += span;
    done += p.done ? span : Math.max(0, Math.min(span, p.cursor - p.origin));
  }
  const percent = state === 'done' ? 100 : total === 0 ? 0 : Math.floor((1000 * done) / total) / 10;
  return {
    state,
    percent,
    events: gen.backfillEvents,
    startedAt: gen.backfillStartedAt === null ? null : new Date(gen.backfillStartedAt).toISOString(),
    finishedAt: gen.backfillFinishedAt === null ? null : new Date(gen.backfillFinishedAt).toISOString(),
    partitions: parts.map((p) => ({ partition: p.partition, liveFrom: p.liveFrom, cursor: p.cursor, done: p.done })),
  };
}
