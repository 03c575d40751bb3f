/**
 * Daily volume quotas in the state store: the configured quota per tenant, and the shared
 * per-day counter every ingest instance leases from (daily-quota-gate.ts).
 */
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { dayOf, leaseDaily, type DailyLease } from './daily-quota.js';

export interface DailyQuotaState {
  tenant: string;
  eventsPerDay: number | null;
  day: number;
  used: number;
}

export class DailyQuotaService {
  constructor(private readonly store: Store) {}

  async get(tenant: string): Promise<number | null> {
    const r = await this.store.db.selectFrom('daily_quotas').select('events_per_day').where('tenant_id', '=', tenant).executeTakeFirst();
    return r ? Number(r.events_per_day) : null;
  }

  /** Sets (or with null removes) a tenant's quota; returns the one before. */
  async set(tenant: string, eventsPerDay: number | null, now: number): Promise<number | null> {
    return this.store.db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('daily_quotas').select('events_per_day').where('tenant_id', '=', tenant).executeTakeFirst();
      if (eventsPerDay === null) await trx.deleteFrom('daily_quotas').where('tenant_id', '=', tenant).execute();
      else {
        await trx
          .insertInto('daily_quotas')
          .values({ tenant_id: tenant, events_per_day: eventsPerDay, updated_at: now })
          .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ events_per_day: eventsPerDay, updated_at: now }))
          .execute();
      }
      return before ? Number(before.events_per_day) : null;
    });
  }

  async all(): Promise<{ tenant: string; eventsPerDay: number }[]> {
    const rows = await this.store.db.selectFrom('daily_quotas').select(['tenant_id', 'events_per_day']).orderBy('tenant_id').execute();
    return rows.map((r) => ({ tenant: r.tenant_id, eventsPerDay: Number(r.events_per_day) }));
  }

  async state(tenant: string, now: number): Promise<DailyQuotaState> {
    const day = dayOf(now);
    const [quota, usage] = await Promise.all([
      this.get(tenant),
      this.store.db.selectFrom('daily_quota_usage').select(['used']).where('tenant_id', '=', tenant).where('day', '=', day).executeTakeFirst(),
    ]);
    return { tenant, eventsPerDay: quota, day, used: usage ? Number(usage.used) : 0 };
  }

  /** Every tenant with a quota and today's counter. */
  async states(now: number): Promise<DailyQuotaState[]> {
    const day = dayOf(now);
    const rows = await this.store.db
      .selectFrom('daily_quotas as q')
      .leftJoin('daily_quota_usage as u', (j) => j.onRef('u.tenant_id', '=', 'q.tenant_id').on('u.day', '=', day))
      .select(['q.tenant_id', 'q.events_per_day', 'u.used'])
      .orderBy('q.tenant_id')
      .execute();
    return rows.map((r) => ({ tenant: r.tenant_id, eventsPerDay: Number(r.events_per_day), day, used: r.used === null ? 0 : Number(r.used) }));
  }

  /** Leases at least `need` events of today's quota (charged now), or says how many remain. */
  async lease(tenant: string, quota: number, need: number, now: number): Promise<DailyLease & { used: number }> {
    const day = dayOf(now);
    return this.store.db.transaction().execute(async (trx) => {
      const used = await lockUsage(trx, tenant, day);
      const r = leaseDaily(quota, used, need);
      if ('granted' in r) {
        await trx
          .updateTable('daily_quota_usage')
          .set({ used: used + r.granted })
          .where('tenant_id', '=', tenant)
          .where('day', '=', day)
          .execute();
        return { ...r, used: used + r.granted };
      }
      return { ...r, used };
    });
  }

  /** Gives back leased events that were not used (same day only; never below zero). */
  async giveBack(tenant: string, day: number, events: number): Promise<void> {
    await this.store.db.transaction().execute(async (trx) => {
      const used = await lockUsage(trx, tenant, day);
      await trx
        .updateTable('daily_quota_usage')
        .set({ used: Math.max(0, used - events) })
        .where('tenant_id', '=', tenant)
        .where('day', '=', day)
        .execute();
    });
  }

  /** Removes counters of days before `before`. */
  async prune(before: number): Promise<void> {
    await this.store.db.deleteFrom('daily_quota_usage').where('day', '<', before).execute();
  }
}

/** Today's counter row, created at zero, locked until the transaction ends. */
async function lockUsage(trx: Transaction<Database>, tenant: string, day: number): Promise<number> {
  await trx
    .insertInto('daily_quota_usage')
    .values({ tenant_id: tenant, day, used: 0 })
    .onConflict((oc) => oc.columns(['tenant_id', 'day']).doNothing())
    .execute();
  const row = await trx
    .updateTable('daily_quota_usage')
    .set((eb) => ({ used: eb.ref('used') }))
    .where('tenant_id', '=', tenant)
    .where('day', '=', day)
    .returning(['used'])
    .executeTakeFirstOrThrow();
  return Number(row.used);
}
