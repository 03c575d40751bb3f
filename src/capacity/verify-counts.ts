/**
 * The usage half of `keel verify counts` (processing/count-check.ts runs it): the `usage` counters
 * recomputed from the readable log, folded exactly as the processor folds (usage-fold.ts), and
 * compared per (partition, tenant, minute of arrival) from the compared range's start on. A
 * difference names the partition, tenant, minute, both figures and the batch ids the log holds
 * for it.
 */
import type { Transaction } from 'kysely';
import type { LogBatch } from '../log/event-log.js';
import type { CountCheck, CountCheckRange } from '../processing/count-check.js';
import type { Database } from '../store/schema.js';
import { foldUsage, MINUTE_MS, minuteOf } from './usage-fold.js';
import { USAGE_PROCESSOR } from './usage-processor.js';

export interface CountDifference {
  partition: number;
  tenant: string;
  minute: number;
  log: { events: number; bytes: number };
  counted: { events: number; bytes: number };
  /** Ids of the log's batches in this bucket (up to 50). */
  batches: string[];
}

export interface UsageVerifyReport {
  /** First minute compared: `since`, later when the log or usage retention removed what came before. */
  from: number;
  /** Why `from` is later than asked, if it is. */
  limitedBy?: 'log retention' | 'usage retention';
  buckets: number;
  differences: CountDifference[];
}

const MAX_IDS = 50;
const ceilMinute = (ms: number) => minuteOf(ms + MINUTE_MS - 1);

interface Acc {
  partition: number;
  tenant: string;
  minute: number;
  events: number;
  bytes: number;
  ids: string[];
}

export class UsageCountCheck implements CountCheck<UsageVerifyReport> {
  readonly consumer = USAGE_PROCESSOR;
  private from = 0;
  private limitedBy: UsageVerifyReport['limitedBy'];
  private counted = new Map<string, { events: number; bytes: number }>();
  private readonly fromLog = new Map<string, Acc>();

  /** `retentionMs`: capacity.usageRetention (older minutes are pruned from the counters). */
  constructor(private readonly retentionMs: number) {}

  async load(trx: Transaction<Database>, range: CountCheckRange): Promise<void> {
    this.from = minuteOf(range.since);
    if (range.logCoveredFrom !== undefined && ceilMinute(range.logCoveredFrom) > this.from) {
      this.from = ceilMinute(range.logCoveredFrom);
      this.limitedBy = 'log retention';
    }
    if (ceilMinute(range.now - this.retentionMs) > this.from) {
      this.from = ceilMinute(range.now - this.retentionMs);
      this.limitedBy = 'usage retention';
    }
    const rows = await trx
      .selectFrom('usage_minutes')
      .select(['partition', 'tenant_id', 'minute'])
      .select((eb) => [eb.fn.sum<number>('events').as('events'), eb.fn.sum<number>('bytes').as('bytes')])
      .where('minute', '>=', this.from)
      .groupBy(['partition', 'tenant_id', 'minute'])
      .execute();
    this.counted = new Map(rows.map((c) => [key(Number(c.partition), c.tenant_id, Number(c.minute)), { events: Number(c.events), bytes: Number(c.bytes) }]));
  }

  add(batches: readonly LogBatch[]): void {
    const recent = batches.filter((b) => b.receivedAt >= this.from);
    for (const row of foldUsage(recent)) {
      const k = key(row.partition, row.tenant, row.minute);
      const acc = this.fromLog.get(k) ?? { partition: row.partition, tenant: row.tenant, minute: row.minute, events: 0, bytes: 0, ids: [] };
      acc.events += row.events;
      acc.bytes += row.bytes;
      this.fromLog.set(k, acc);
    }
    for (const b of recent) {
      const acc = this.fromLog.get(key(b.partition, b.tenant, minuteOf(b.receivedAt)))!;
      if (acc.ids.length < MAX_IDS) acc.ids.push(b.id ?? `position ${b.position}`);
    }
  }

  result(): UsageVerifyReport {
    const report: UsageVerifyReport = { from: this.from, ...(this.limitedBy ? { limitedBy: this.limitedBy } : {}), buckets: 0, differences: [] };
    for (const k of new Set([...this.fromLog.keys(), ...this.counted.keys()])) {
      report.buckets++;
      const l = this.fromLog.get(k);
      const cnt = this.counted.get(k) ?? { events: 0, bytes: 0 };
      const log = { events: l?.events ?? 0, bytes: l?.bytes ?? 0 };
      if (log.events === cnt.events && log.bytes === cnt.bytes) continue;
      const [partition, tenant, minute] = k.split('\u0000') as [string, string, string];
      report.differences.push({ partition: Number(partition), tenant, minute: Number(minute), log, counted: cnt, batches: l?.ids ?? [] });
    }
    report.differences.sort((a, b) => a.partition - b.partition || a.minute - b.minute || a.tenant.localeCompare(b.tenant));
    return report;
  }
}

function key(p: number, tenant: string, minute: number): string {
  return `${p}\u0000${tenant}\u0000${minute}`;
}
