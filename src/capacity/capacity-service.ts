/**
 * Capacity history and the report: samples every tracked limit (leader only), rolls the history
 * up (raw samples for capacity.rawRetention, then one row per hour with the hour's peak), and
 * answers the ranked report from it.
 */
import { sql } from 'kysely';
import type { KeelConfig } from '../core/config.js';
import { KeelError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { limitReport, rankLimits, type LimitReport, type ReportOptions } from './capacity-report.js';
import { HOUR_MS, type Point } from './forecast.js';
import type { LimitReading } from './limits.js';
import { parseHorizon } from './forecast-input.js';
import { aggregateOf, mergeMinute } from './limit-fold.js';
import type { LimitSpec } from './limit-kind.js';
import { minuteOf } from './usage-fold.js';

export const RAW = 0;
export const HOURLY = 1;

export interface ReportScope {
  /** Only these tenants' limits (and no system limits); undefined: every limit (system admins). */
  tenant?: string;
}

export class CapacityService {
  constructor(
    private readonly store: Store,
    private readonly config: KeelConfig,
  ) {}

  async record(at: number, readings: readonly LimitReading[]): Promise<void> {
    if (readings.length === 0) return;
    await this.store.db
      .insertInto('capacity_samples')
      .values(readings.map((r) => ({ limit_id: r.id, tenant_id: r.tenant, at, res: RAW, usage: r.usage, capacity: r.capacity })))
      .onConflict((oc) => oc.columns(['limit_id', 'res', 'at']).doUpdateSet((eb) => ({ usage: eb.ref('excluded.usage'), capacity: eb.ref('excluded.capacity') })))
      .execute();
  }

  /** Rolls raw samples older than the raw retention into hourly peaks and removes expired hours. */
  async rollUp(now: number): Promise<{ rolled: number; pruned: number }> {
    const before = now - this.config.capacity.rawRetention;
    const cut = before - (((before % HOUR_MS) + HOUR_MS) % HOUR_MS);
    return this.store.db.transaction().execute(async (trx) => {
      const hour = sql<number>`at - (at % ${sql.lit(HOUR_MS)})`;
      const rows = await trx
        .selectFrom('capacity_samples')
        .select(['limit_id', 'tenant_id'])
        .select(hour.as('hour'))
        .select((eb) => [eb.fn.max<number>('usage').as('usage'), eb.fn.max<number | null>('capacity').as('capacity')])
        .where('res', '=', RAW)
        .where('at', '<', cut)
        .groupBy(['limit_id', 'tenant_id', hour])
        .execute();
      for (let i = 0; i < rows.length; i += 200) {
        await trx
          .insertInto('capacity_samples')
          .values(
            rows
              .slice(i, i + 200)
              .map((r) => ({ limit_id: r.limit_id, tenant_id: r.tenant_id, at: Number(r.hour), res: HOURLY, usage: Number(r.usage), capacity: r.capacity === null ? null : Number(r.capacity) })),
          )
          .onConflict((oc) =>
            oc.columns(['limit_id', 'res', 'at']).doUpdateSet((eb) => ({
              usage: sql<number>`CASE WHEN ${eb.ref('excluded.usage')} > ${eb.ref('capacity_samples.usage')} THEN ${eb.ref('excluded.usage')} ELSE ${eb.ref('capacity_samples.usage')} END`,
            })),
          )
          .execute();
      }
      await trx.deleteFrom('capacity_samples').where('res', '=', RAW).where('at', '<', cut).execute();
      const pruned = await trx
        .deleteFrom('capacity_samples')
        .where('res', '=', HOURLY)
        .where('at', '<', now - this.config.capacity.hourlyRetention)
        .executeTakeFirst();
      return { rolled: rows.length, pruned: Number(pruned.numDeletedRows) };
    });
  }

  /** The latest raw sample of every limit in scope. */
  async latest(scope: ReportScope): Promise<LimitReading[]> {
    let q = this.store.db
      .selectFrom('capacity_samples as s')
      .innerJoin(
        (eb) =>
          eb
            .selectFrom('capacity_samples')
            .select(['limit_id'])
            .select((e) => e.fn.max<number>('at').as('last'))
            .where('res', '=', RAW)
            .groupBy('limit_id')
            .as('m'),
        (join) => join.onRef('m.limit_id', '=', 's.limit_id').onRef('m.last', '=', 's.at'),
      )
      .select(['s.limit_id', 's.tenant_id', 's.usage', 's.capacity', 's.at'])
      .where('s.res', '=', RAW);
    if (scope.tenant !== undefined) q = q.where('s.tenant_id', '=', scope.tenant);
    const rows = await q.orderBy('s.limit_id').execute();
    return rows.map((r) => ({ id: r.limit_id, tenant: r.tenant_id, usage: Number(r.usage), capacity: r.capacity === null ? null : Number(r.capacity) }));
  }

  async history(limitId: string, from: number, to: number): Promise<Point[]> {
    const rows = await this.store.db.selectFrom('capacity_samples').select(['at', 'usage']).where('limit_id', '=', limitId).where('at', '>=', from).where('at', '<=', to).orderBy('at').execute();
    return rows.map((r) => ({ t: Number(r.at), v: Number(r.usage) }));
  }

  /**
   * The latest reading of each limit that still exists: a removed `Limit` definition or daily
   * quota keeps its samples for the history, but is no longer reported (nor alerted on).
   */
  private async tracked(scope: ReportScope, users: Map<string, unknown>): Promise<LimitReading[]> {
    const quotas = new Set((await this.store.db.selectFrom('daily_quotas').select('tenant_id').execute()).map((q) => dailyQuotaLimitId(q.tenant_id)));
    return (await this.latest(scope)).filter((r) => (r.id.startsWith('limit.') ? users.has(r.id) : !DAILY_QUOTA_ID.test(r.id) || quotas.has(r.id)));
  }

  async report(scope: ReportScope, o: ReportOptions): Promise<LimitReport[]> {
    const out: LimitReport[] = [];
    const users = await userLimitInfo(this.store);
    for (const r of await this.tracked(scope, users)) {
      const user = users.get(r.id);
      // A Limit's own horizon, unless the caller asked for one.
      const opts = user?.horizonMs !== undefined && !o.horizonGiven ? { ...o, horizonMs: user.horizonMs } : o;
      out.push(limitReport(r, await this.history(r.id, o.now - this.config.capacity.history, o.now), opts, user));
    }
    return rankLimits(out);
  }

  async limit(id: string, scope: ReportScope, o: ReportOptions): Promise<{ report: LimitReport; history: Point[] }> {
    const users = await userLimitInfo(this.store);
    const r = (await this.tracked(scope, users)).find((l) => l.id === id);
    if (!r) throw new KeelError('not_found', `no tracked limit "${id}"${scope.tenant !== undefined ? ` in tenant "${scope.tenant}"` : ''} (keel capacity report lists them)`);
    const history = await this.history(r.id, o.now - this.config.capacity.history, o.now);
    const user = users.get(r.id);
    const opts = user?.horizonMs !== undefined && !o.horizonGiven ? { ...o, horizonMs: user.horizonMs } : o;
    return { report: limitReport(r, history, opts, user), history };
  }
}

/** Title, unit and horizon of each `Limit` definition, by limit id (`limit.<tenant>.<name>`). */
export async function userLimitInfo(store: Store): Promise<Map<string, { title?: string; unit?: string; horizonMs?: number }>> {
  const rows = await store.db.selectFrom('capacity_limits').select(['tenant_id', 'name', 'spec']).execute();
  const out = new Map<string, { title?: string; unit?: string; horizonMs?: number }>();
  for (const r of rows) {
    const spec = JSON.parse(r.spec) as LimitSpec;
    out.set(userLimitId(r.tenant_id, r.name), {
      ...(spec.title !== undefined ? { title: spec.title } : {}),
      ...(spec.unit !== undefined ? { unit: spec.unit } : {}),
      ...(spec.horizon !== undefined ? { horizonMs: parseHorizon(spec.horizon) } : {}),
    });
  }
  return out;
}

export function userLimitId(tenant: string, name: string): string {
  return `limit.${tenant}.${name}`;
}

/** A tenant's daily volume quota as a limit (`tenant.<tenant>.daily`). */
export function dailyQuotaLimitId(tenant: string): string {
  return `tenant.${tenant}.daily`;
}
const DAILY_QUOTA_ID = /^tenant\..+\.daily$/;

/**
 * The current reading of every `Limit`: the busiest minute since `from` (its aggregate of the
 * usage field) and the capacity (the number, or the capacity field's aggregate in that minute).
 */
export async function readUserLimits(store: Store, from: number, to: number): Promise<LimitReading[]> {
  const defs = await store.db.selectFrom('capacity_limits').select(['tenant_id', 'name', 'spec']).execute();
  if (defs.length === 0) return [];
  const rows = await store.db.selectFrom('limit_minutes').selectAll().where('minute', '>=', minuteOf(from)).where('minute', '<=', to).execute();
  const out: LimitReading[] = [];
  for (const d of defs) {
    const spec = JSON.parse(d.spec) as LimitSpec;
    const byMinute = new Map<number, { n: number; sum: number; max: number; capN: number; capSum: number; capMax: number | null }[]>();
    for (const r of rows) {
      if (r.tenant_id !== d.tenant_id || r.name !== d.name) continue;
      const list = byMinute.get(Number(r.minute)) ?? [];
      list.push({ n: Number(r.n), sum: Number(r.sum), max: Number(r.max), capN: Number(r.cap_n), capSum: Number(r.cap_sum), capMax: r.cap_max === null ? null : Number(r.cap_max) });
      byMinute.set(Number(r.minute), list);
    }
    let best: { usage: number; capacity: number | null } | null = null;
    for (const parts of byMinute.values()) {
      const m = mergeMinute(parts);
      const usage = aggregateOf(spec.usage.aggregate, m);
      let capacity: number | null;
      if (typeof spec.capacity === 'number') capacity = spec.capacity;
      else if (m.capN === 0) capacity = null;
      else capacity = aggregateOf(spec.capacity.aggregate, { n: m.capN, sum: m.capSum, max: m.capMax ?? 0 });
      if (!best || usage > best.usage) best = { usage, capacity };
    }
    if (best) out.push({ id: userLimitId(d.tenant_id, d.name), tenant: d.tenant_id, usage: best.usage, capacity: best.capacity });
  }
  return out;
}

/** Removes per-minute Limit aggregates before `before` (the samples keep the history). */
export async function pruneLimitMinutes(store: Store, before: number): Promise<void> {
  await store.db.deleteFrom('limit_minutes').where('minute', '<', before).execute();
}
