/** A fold's result: deltas per generation and the events each generation's fold scanned. */
import type { CompiledGen, TenantPlan } from './compiled.js';
import { deltaOf, type FoldDeltas, type GenDelta } from './fold-cells.js';
import { PlanCounters } from './fold-counters.js';
import type { FoldLayout } from './fold-layout.js';

/**
 * Which generations count a batch: every one (the aggregator's steady state, the bench, `keel
 * verify counts`), or those the function accepts (asked once per generation per batch: live after
 * its backfill's position, backfill up to it).
 */
export type Include = 'all' | ((gen: CompiledGen) => boolean);

/**
 * A fold's result over any number of batches and tenant plans: a `GenDelta` per generation that
 * counted an event, read through `get`/`values` (which first move the indexed fold's counters into
 * them), and the events each generation's fold scanned (`eventsOf`).
 */
export class FoldResult implements FoldDeltas {
  private readonly deltas = new Map<string, GenDelta>();
  /** The indexed fold's counters in use by this result, until it is read. */
  private readonly counters = new Map<TenantPlan, PlanCounters>();
  /** Events scanned per plan: by batches every generation counted, and per generation by the others. */
  private readonly planEvents = new Map<TenantPlan, { layout: FoldLayout; all: number; per: Float64Array | null }>();
  /** Events scanned per generation uid by the reference fold. */
  private readonly scanned = new Map<string, number>();

  get(uid: string): GenDelta | undefined {
    this.settle();
    return this.deltas.get(uid);
  }

  values(): ReturnType<Map<string, GenDelta>['values']> {
    this.settle();
    return this.deltas.values();
  }

  /** Events the fold scanned for a generation (counted or not): what a backfill reports. */
  eventsOf(uid: string): number {
    let n = this.scanned.get(uid) ?? 0;
    for (const e of this.planEvents.values()) {
      const i = e.layout.positions.get(uid);
      if (i !== undefined) n += e.all + (e.per?.[i] ?? 0);
    }
    return n;
  }

  /** The indexed fold's counters of a plan (the plan's spare ones if no other result holds them). */
  countersOf(plan: TenantPlan, layout: FoldLayout): PlanCounters {
    let c = this.counters.get(plan);
    if (c === undefined) {
      c = spareCounters.get(plan);
      if (c === undefined) c = new PlanCounters(plan, layout);
      else spareCounters.delete(plan);
      c.attach(this.deltas);
      this.counters.set(plan, c);
    }
    return c;
  }

  /** Events of a batch of the plan: counted by every generation (`included` null) or by those it marks. */
  addEvents(plan: TenantPlan, layout: FoldLayout, events: number, included: Uint8Array | null): void {
    let e = this.planEvents.get(plan);
    if (e === undefined) this.planEvents.set(plan, (e = { layout, all: 0, per: null }));
    if (included === null) {
      e.all += events;
      return;
    }
    const per = (e.per ??= new Float64Array(included.length));
    for (let i = 0; i < included.length; i++) if (included[i] === 1) per[i] = per[i]! + events;
  }

  /** The reference fold writes its deltas directly. */
  deltaOf(gen: CompiledGen): GenDelta {
    return deltaOf(this.deltas, gen);
  }

  addScanned(uid: string, events: number): void {
    this.scanned.set(uid, (this.scanned.get(uid) ?? 0) + events);
  }

  /** Moves the counters' counts into the deltas and hands the counters back to their plan. */
  private settle(): void {
    if (this.counters.size === 0) return;
    for (const c of this.counters.values()) {
      c.settle();
      c.release();
      spareCounters.set(c.plan, c);
    }
    this.counters.clear();
  }
}

/**
 * Counters a plan's last fold result handed back, reused by the next: their combination ids and
 * series stay (so a transaction does not intern the same combinations again) and their arrays
 * stay warm. At most one spare per plan; dropped with the plan.
 */
const spareCounters = new WeakMap<TenantPlan, PlanCounters>();
