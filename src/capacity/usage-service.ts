/** Reading usage back: per tenant per step (minute, hour, day), with totals. */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { STEPS, type Step } from './usage-fold.js';

export interface UsageQuery {
  from: number;
  to: number;
  step: Step;
  /** One tenant; all tenants when undefined (system admins). */
  tenant?: string;
}

export interface UsageBucket {
  tenant: string;
  start: number;
  events: number;
  bytes: number;
}

export interface UsageTotals {
  tenant: string;
  events: number;
  bytes: number;
}

export class UsageService {
  constructor(private readonly store: Store) {}

  async buckets(q: UsageQuery): Promise<UsageBucket[]> {
    const size = STEPS[q.step];
    const start = sql<number>`minute - (minute % ${sql.lit(size)})`;
    let query = this.store.db
      .selectFrom('usage_minutes')
      .select(['tenant_id'])
      .select(start.as('start'))
      .select((eb) => [eb.fn.sum<number>('events').as('events'), eb.fn.sum<number>('bytes').as('bytes')])
      .where('minute', '>=', q.from - (((q.from % size) + size) % size))
      .where('minute', '<', q.to)
      .groupBy(['tenant_id', start])
      .orderBy('tenant_id')
      .orderBy(start);
    if (q.tenant !== undefined) query = query.where('tenant_id', '=', q.tenant);
    const rows = await query.execute();
    return rows.map((r) => ({ tenant: r.tenant_id, start: Number(r.start), events: Number(r.events), bytes: Number(r.bytes) }));
  }

  /** Exact totals over [from, to) by minute, per tenant. */
  async totals(q: Omit<UsageQuery, 'step'>): Promise<UsageTotals[]> {
    let query = this.store.db
      .selectFrom('usage_minutes')
      .select(['tenant_id'])
      .select((eb) => [eb.fn.sum<number>('events').as('events'), eb.fn.sum<number>('bytes').as('bytes')])
      .where('minute', '>=', q.from - (((q.from % 60_000) + 60_000) % 60_000))
      .where('minute', '<', q.to)
      .groupBy('tenant_id')
      .orderBy('tenant_id');
    if (q.tenant !== undefined) query = query.where('tenant_id', '=', q.tenant);
    const rows = await query.execute();
    return rows.map((r) => ({ tenant: r.tenant_id, events: Number(r.events), bytes: Number(r.bytes) }));
  }

  /** Deletes minutes before `before` (usage retention); returns the rows removed. */
  async prune(before: number, db: Kysely<Database> | Transaction<Database> = this.store.db): Promise<number> {
    const r = await db.deleteFrom('usage_minutes').where('minute', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
