/**
 * The live SLO aggregator, a `BatchProcessor`: folds every batch into the counters of the tenant's
 * current SLO generations. Exactly once: the counters and the consumer position commit in one
 * transaction (the runner's contract), and a generation is counted live only for batches after the
 * position its backfill claimed (`slo_backfill_partitions.live_from`), the backfill covering the
 * rest.
 *
 * The fold (CPU) runs in `prepare`, before the transaction, against the configuration snapshot it
 * knows; inside the transaction the configuration version is read after taking the partition's
 * lock row, and a snapshot that has gone stale is reloaded and the fold redone there.
 */
import type { Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { LogBatch } from '../log/event-log.js';
import { ReadAgain, type BatchProcessor } from '../processing/processor.js';
import type { Database } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { compileTenantPlan, type TenantPlan } from './compiled.js';
import { CounterWriter, type GenInfo } from './counter-writer.js';
import { FOLD_RUN_EVENTS, foldBatches, FoldResult, type FoldItem, type Include } from './fold.js';
import { backfillPartitions, currentGenerations } from './generations.js';
import { lockPartition, readVersion } from './meta.js';
import type { SloMetrics } from './metrics.js';

export const SLO_CONSUMER = 'slo';
/** Events folded between yields to the event loop, so HTTP requests are not starved. */
const YIELD_EVERY = 20_000;

interface Snapshot {
  version: number;
  tenants: Map<string, TenantPlan>;
  info: Map<string, GenInfo & { tenant: string; name: string }>;
  /** Generation uid → partition → position after which it is counted live. */
  liveFrom: Map<string, Map<number, number>>;
  /**
   * Tenant → partition → position after which every generation of the tenant is counted live
   * (the latest of their `liveFrom`s; absent while one has none there), so the fold of a batch
   * past it asks no generation whether it counts.
   */
  liveAll: Map<string, Map<number, number>>;
}

interface Prepared {
  version: number;
  deltas: FoldResult;
}

export class SloAggregator implements BatchProcessor<Prepared | undefined> {
  readonly name = SLO_CONSUMER;
  private snapshot: Snapshot = { version: -1, tenants: new Map(), info: new Map(), liveFrom: new Map(), liveAll: new Map() };
  private readonly writer: CounterWriter;
  private committedDeltas: FoldResult | undefined;

  constructor(
    private readonly deps: {
      metrics: SloMetrics;
      maxBreakdownValues: number;
      logger: Logger;
      clock: Clock;
      /** Told of the batches whose counts just committed (Keel's own freshness SLO). */
      onCounted?: (batches: LogBatch[]) => void;
    },
  ) {
    this.writer = new CounterWriter(deps.maxBreakdownValues);
  }

  async prepare(batches: LogBatch[]): Promise<Prepared | undefined> {
    const snap = this.snapshot;
    if (snap.version < 0) return undefined;
    const deltas = new FoldResult();
    let sinceYield = 0;
    for (const run of runsOf(snap, batches)) {
      sinceYield += foldBatches(run.plan, run.items, deltas);
      if (sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
    return { version: snap.version, deltas };
  }

  /** No SLO defined: the runner may skip reading event data (the common case before any SLO). */
  needsData(): boolean {
    return this.snapshot.version < 0 || this.snapshot.tenants.size > 0;
  }

  /** Only tenants with SLOs need their events read (Keel's own SLOs define some in keel-system). */
  needsDataFor(tenant: string): boolean {
    return this.snapshot.version < 0 || this.snapshot.tenants.has(tenant);
  }

  async process(trx: Transaction<Database>, batches: LogBatch[], prepared?: Prepared): Promise<void> {
    this.writer.begin();
    await lockPartition(trx, batches[0]!.partition);
    const version = await readVersion(trx);
    if (version !== this.snapshot.version) this.snapshot = await this.load(trx, version);
    const snap = this.snapshot;
    // Read without data while no SLO existed, but an SLO now needs these events: read them again.
    if (batches.some((b) => b.count > 0 && b.data.byteLength === 0 && snap.tenants.has(b.tenant))) throw new ReadAgain();
    let deltas = prepared?.version === version ? prepared.deltas : undefined;
    if (!deltas) {
      deltas = new FoldResult();
      for (const run of runsOf(snap, batches)) foldBatches(run.plan, run.items, deltas);
    }
    await this.writer.write(trx, (uid) => snap.info.get(uid), deltas, this.deps.clock.now());
    this.committedDeltas = deltas;
  }

  afterCommit(batches: LogBatch[] = []): void {
    this.writer.committed();
    this.deps.onCounted?.(batches);
    const deltas = this.committedDeltas;
    this.committedDeltas = undefined;
    if (!deltas) return;
    this.deps.metrics.countCommitted(deltas, (uid) => this.snapshot.info.get(uid));
  }

  private async load(trx: Transaction<Database>, version: number): Promise<Snapshot> {
    const gens = await currentGenerations(trx);
    const parts = await backfillPartitions(
      trx,
      gens.map((g) => g.uid),
    );
    const byTenant = new Map<string, typeof gens>();
    for (const g of gens) byTenant.set(g.tenant, [...(byTenant.get(g.tenant) ?? []), g]);
    const tenants = new Map<string, TenantPlan>();
    const info: Snapshot['info'] = new Map();
    for (const [tenant, list] of byTenant) {
      const plan = compileTenantPlan(tenant, list);
      tenants.set(tenant, plan);
      for (const g of plan.gens) {
        info.set(g.uid, { slo: g.slo, kind: g.kind, tenant, name: g.slo.name });
        this.deps.metrics.touch(tenant, g.slo.name, g.slo.objectives.length);
      }
    }
    const liveFrom = new Map<string, Map<number, number>>();
    for (const [uid, list] of parts) liveFrom.set(uid, new Map(list.map((p) => [p.partition, p.liveFrom])));
    const liveAll = new Map<string, Map<number, number>>();
    for (const [tenant, list] of byTenant) liveAll.set(tenant, latestLiveFrom(list.map((g) => liveFrom.get(g.uid) ?? new Map<number, number>())));
    this.deps.logger.debug({ version, generations: gens.length }, 'slo aggregator loaded its configuration');
    return { version, tenants, info, liveFrom, liveAll };
  }
}

/**
 * The batches in runs the fold takes at once (fold-indexed.ts groups a run's events): consecutive
 * batches of one tenant, up to FOLD_RUN_EVENTS events, each with the generations that count it
 * live. Batches of tenants without SLOs are left out.
 */
function runsOf(snap: Snapshot, batches: readonly LogBatch[]): { plan: TenantPlan; items: FoldItem[] }[] {
  const runs: { plan: TenantPlan; items: FoldItem[] }[] = [];
  let events = 0;
  for (const batch of batches) {
    const plan = snap.tenants.get(batch.tenant);
    if (!plan) continue;
    const last = runs[runs.length - 1];
    const item = { batch, include: includeOf(snap, batch) };
    if (last !== undefined && last.plan === plan && events + batch.count <= FOLD_RUN_EVENTS) {
      last.items.push(item);
      events += batch.count;
    } else {
      runs.push({ plan, items: [item] });
      events = batch.count;
    }
  }
  return runs;
}

/** The generations that count a batch live: every one past `liveAll`, else those past their `liveFrom`. */
function includeOf(snap: Snapshot, batch: LogBatch): Include {
  const all = snap.liveAll.get(batch.tenant)?.get(batch.partition);
  if (all !== undefined && batch.position > all) return 'all';
  return (g) => {
    const from = snap.liveFrom.get(g.uid)?.get(batch.partition);
    return from !== undefined && batch.position > from;
  };
}

/** Per partition, the latest of the generations' live-from positions, where every one has one. */
export function latestLiveFrom(gens: ReadonlyMap<number, number>[]): Map<number, number> {
  const out = new Map<number, number>();
  const [first, ...rest] = gens;
  if (first === undefined) return out;
  for (const [partition, from] of first) {
    let latest = from;
    let everyOne = true;
    for (const g of rest) {
      const f = g.get(partition);
      if (f === undefined) {
        everyOne = false;
        break;
      }
      latest = Math.max(latest, f);
    }
    if (everyOne) out.set(partition, latest);
  }
  return out;
}
