/**
 * Partition leases of one processor's consumer, held by this worker process. Every live worker
 * (refreshing its row in `log_workers`) aims at its fair share of partitions (partition-balance.ts);
 * a lease is renewed every `leaseMs / 5` and expires after `leaseMs` unrenewed (a dead worker's
 * partitions are claimed by the others within seconds). Times are the database's clock, so
 * workers on several machines need no clock agreement.
 *
 * Safety: a claim raises the lease's epoch and each processing transaction checks the epoch is
 * still this worker's (`fence`), so a deposed owner can never commit; and an owner stops pulling
 * from NATS once its lease may have expired (`mayPull`), before anyone else could claim it, so
 * the new owner's consumer never hands messages to the old one.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { KeelError } from '../../core/errors.js';
import type { Database } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import type { Logger } from '../../telemetry/logger.js';
import { balancePlan } from './partition-balance.js';

const dbNow = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export interface PartitionLeasesOptions {
  store: Store;
  consumer: string;
  partitions: number;
  worker: string;
  leaseMs: number;
  logger: Logger;
}

interface Held {
  epoch: number;
  /** Local monotonic time until which this worker may pull (renewal start + lease − margin). */
  pullUntil: number;
}

export class PartitionLeases {
  private readonly held = new Map<number, Held>();
  private readonly releasing = new Set<number>();
  private readonly timer: NodeJS.Timeout;
  private ticking = false;
  private closed = false;
  private failing = false;

  constructor(private readonly o: PartitionLeasesOptions) {
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(o.leaseMs / 5)));
    this.timer.unref();
    void this.tick();
  }

  /** The epoch of this worker's lease on the partition, if it holds one. */
  epochOf(partition: number): number | undefined {
    return this.held.get(partition)?.epoch;
  }

  /** How many partitions this worker holds now. */
  count(): number {
    return this.held.size;
  }

  /** Whether this worker may still send pull requests for the partition. */
  mayPull(partition: number): boolean {
    const h = this.held.get(partition);
    return h !== undefined && performance.now() < h.pullUntil;
  }

  /** Above its fair share: the subscription gives the partition back between two deliveries. */
  shouldRelease(partition: number): boolean {
    return this.releasing.has(partition);
  }

  async release(partition: number): Promise<void> {
    const h = this.held.get(partition);
    this.held.delete(partition);
    this.releasing.delete(partition);
    if (!h) return;
    await this.o.store.db
      .updateTable('partition_leases')
      .set({ expires_at: 0, owner: '' })
      .where('consumer', '=', this.o.consumer)
      .where('partition', '=', partition)
      .where('owner', '=', this.o.worker)
      .where('epoch', '=', h.epoch)
      .execute();
    this.o.logger.info({ consumer: this.o.consumer, partition }, 'partition handed over for balance');
  }

  /** Inside a processing transaction: throws unless this worker still holds the partition at `epoch`. */
  async fence(db: Kysely<Database> | Transaction<Database>, partition: number, epoch: number): Promise<void> {
    const r = await db
      .updateTable('partition_leases')
      .set((eb) => ({ epoch: eb.ref('epoch') }))
      .where('consumer', '=', this.o.consumer)
      .where('partition', '=', partition)
      .where('owner', '=', this.o.worker)
      .where('epoch', '=', epoch)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) {
      this.held.delete(partition);
      throw new KeelError('conflict', `partition ${partition} of ${this.o.consumer} is no longer leased to this worker`);
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    const started = performance.now();
    try {
      const { store, consumer, worker, leaseMs, partitions } = this.o;
      await store.db
        .insertInto('log_workers')
        .values({ consumer, worker, seen_at: dbNow })
        .onConflict((oc) => oc.columns(['consumer', 'worker']).doUpdateSet({ seen_at: dbNow }))
        .execute();
      await store.db
        .deleteFrom('log_workers')
        .where('seen_at', '<', sql<number>`${dbNow} - 86400000`)
        .execute();
      // Renew only what this worker still means to hold (never a partition it has given back).
      const heldNow = [...this.held.keys()];
      const renewed =
        heldNow.length === 0
          ? []
          : await store.db
              .updateTable('partition_leases')
              .set({ expires_at: sql<number>`${dbNow} + ${leaseMs}` })
              .where('consumer', '=', consumer)
              .where('owner', '=', worker)
              .where('partition', 'in', heldNow)
              .returning(['partition', 'epoch'])
              .execute();
      const pullUntil = started + leaseMs * 0.8;
      const still = new Map(renewed.map((r) => [Number(r.partition), Number(r.epoch)]));
      for (const [p, h] of this.held) {
        if (still.get(p) !== h.epoch) {
          this.held.delete(p);
          this.releasing.delete(p);
          this.o.logger.warn({ consumer, partition: p }, 'partition lease lost to another worker');
        } else h.pullUntil = pullUntil;
      }
      const live = await store.db
        .selectFrom('log_workers')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('consumer', '=', consumer)
        .where('seen_at', '>', sql<number>`${dbNow} - ${leaseMs}`)
        .executeTakeFirstOrThrow();
      const rows = await store.db.selectFrom('partition_leases').select(['partition', 'expires_at']).where('consumer', '=', consumer).execute();
      const nowRow = await sql<{ now: number }>`SELECT ${dbNow} AS now`.execute(store.db);
      const now = Number(nowRow.rows[0]!.now);
      const known = new Map(rows.map((r) => [Number(r.partition), Number(r.expires_at)]));
      const free: number[] = [];
      for (let p = 0; p < partitions; p++) if ((known.get(p) ?? 0) < now && !this.held.has(p)) free.push(p);
      const mine = [...this.held.keys()].filter((p) => !this.releasing.has(p));
      const plan = balancePlan({ mine, free, partitions, liveWorkers: Number(live.n) });
      for (const p of plan.release) this.releasing.add(p);
      for (const p of plan.claim) await this.claim(p, started);
      if (this.failing) this.o.logger.info({ consumer }, 'partition leases reachable again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.o.logger.warn({ err, consumer: this.o.consumer }, 'partition leases unreachable; retrying');
      this.failing = true;
    } finally {
      this.ticking = false;
    }
  }

  private async claim(partition: number, started: number): Promise<void> {
    const { store, consumer, worker, leaseMs } = this.o;
    await store.db
      .insertInto('partition_leases')
      .values({ consumer, partition, owner: '', epoch: 0, expires_at: 0 })
      .onConflict((oc) => oc.columns(['consumer', 'partition']).doNothing())
      .execute();
    const r = await store.db
      .updateTable('partition_leases')
      .set((eb) => ({ owner: worker, epoch: eb('epoch', '+', 1), expires_at: sql<number>`${dbNow} + ${leaseMs}` }))
      .where('consumer', '=', consumer)
      .where('partition', '=', partition)
      .where('expires_at', '<', dbNow)
      .returning('epoch')
      .executeTakeFirst();
    if (!r) return;
    this.held.set(partition, { epoch: Number(r.epoch), pullUntil: started + leaseMs * 0.8 });
    this.o.logger.info({ consumer, partition, epoch: Number(r.epoch) }, 'partition claimed');
  }

  /** Gives every lease back at once (a clean stop), so the other workers need not wait for expiry. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    while (this.ticking) await new Promise((r) => setTimeout(r, 10));
    const { store, consumer, worker } = this.o;
    this.held.clear();
    await store.db
      .updateTable('partition_leases')
      .set({ expires_at: 0, owner: '' })
      .where('consumer', '=', consumer)
      .where('owner', '=', worker)
      .execute()
      .catch(() => undefined);
    await store.db
      .deleteFrom('log_workers')
      .where('consumer', '=', consumer)
      .where('worker', '=', worker)
      .execute()
      .catch(() => undefined);
  }
}
