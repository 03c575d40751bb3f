/**
 * The `limits` processor: folds the events of tenants that have `Limit` definitions into
 * per-minute aggregates (`limit_minutes`), under the runner's exactly-once contract (the rows and
 * the position commit together). It reads event data only while some Limit exists; batches of
 * tenants without one are skipped unread.
 */
import { sql, type Transaction } from 'kysely';
import { eventLines, type LogBatch } from '../log/event-log.js';
import { ReadAgain, type BatchProcessor } from '../processing/processor.js';
import type { Database } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { compileTenantLimits, foldLimitEvents, type CompiledTenantLimits, type LimitMinute } from './limit-fold.js';
import type { LimitSpec } from './limit-kind.js';
import { minuteOf } from './usage-fold.js';

export const LIMITS_PROCESSOR = 'limits';
/** Definitions are re-read this often (a Limit applies to events processed after that). */
const REFRESH_MS = 2_000;

export function limitsProcessor(o: { logger: Logger; now?: () => number }): BatchProcessor {
  const now = o.now ?? Date.now;
  let compiled = new Map<string, CompiledTenantLimits>();
  let loadedAt = -Infinity;
  let any = true;

  async function refresh(trx: Transaction<Database>): Promise<void> {
    if (now() - loadedAt < REFRESH_MS) return;
    const rows = await trx.selectFrom('capacity_limits').select(['tenant_id', 'name', 'spec']).orderBy('tenant_id').orderBy('name').execute();
    const byTenant = new Map<string, { name: string; spec: LimitSpec }[]>();
    for (const r of rows) {
      const list = byTenant.get(r.tenant_id) ?? [];
      list.push({ name: r.name, spec: JSON.parse(r.spec) as LimitSpec });
      byTenant.set(r.tenant_id, list);
    }
    const next = new Map<string, CompiledTenantLimits>();
    for (const [tenant, specs] of byTenant) {
      try {
        next.set(tenant, compileTenantLimits(specs));
      } catch (err) {
        // Parsed at apply, so this is a CEL feature the compiler refuses: skip the tenant's limits, loudly.
        o.logger.error({ err, tenant }, 'cannot compile the Limit definitions of a tenant; their usage is not counted');
      }
    }
    compiled = next;
    any = rows.length > 0;
    loadedAt = now();
  }

  return {
    name: LIMITS_PROCESSOR,
    needsData: () => any,
    async process(trx, batches: LogBatch[]) {
      await refresh(trx);
      if (compiled.size === 0) return;
      const acc = new Map<string, LimitMinute>();
      const rows: LimitMinute[] = [];
      for (const b of batches) {
        const c = compiled.get(b.tenant);
        if (!c) continue;
        if (b.data.byteLength === 0 && b.count > 0) throw new ReadAgain();
        acc.clear();
        const events = (function* () {
          for (const line of eventLines(b.data)) {
            try {
              yield JSON.parse(line) as unknown;
            } catch {
              // stored events are valid JSON
            }
          }
        })();
        foldLimitEvents(acc, c, b.tenant, b.partition, minuteOf(b.receivedAt), events);
        rows.push(...acc.values());
      }
      for (const r of rows) {
        await trx
          .insertInto('limit_minutes')
          .values({ tenant_id: r.tenant, name: r.name, minute: r.minute, partition: r.partition, n: r.n, sum: r.sum, max: r.max, cap_n: r.capN, cap_sum: r.capSum, cap_max: r.capMax })
          .onConflict((oc) =>
            oc.columns(['tenant_id', 'name', 'minute', 'partition']).doUpdateSet((eb) => ({
              n: eb('limit_minutes.n', '+', eb.ref('excluded.n')),
              sum: eb('limit_minutes.sum', '+', eb.ref('excluded.sum')),
              max: sql<number>`CASE WHEN excluded.max > limit_minutes.max THEN excluded.max ELSE limit_minutes.max END`,
              cap_n: eb('limit_minutes.cap_n', '+', eb.ref('excluded.cap_n')),
              cap_sum: eb('limit_minutes.cap_sum', '+', eb.ref('excluded.cap_sum')),
              cap_max: sql<number | null>`CASE WHEN limit_minutes.cap_max IS NULL OR excluded.cap_max > limit_minutes.cap_max THEN excluded.cap_max ELSE limit_minutes.cap_max END`,
            })),
          )
          .execute();
      }
    },
  };
}
