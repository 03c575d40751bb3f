/**
 * `keel verify counts`: recomputes usage from the readable log and compares it with the counters.
 * The counters are exact by construction (exactly-once processing); what this catches is a log
 * that changed under them — a replica that lost acknowledged batches and then led the stream, a
 * batch counted that is no longer readable (seen on nats-server 2.9.10 after a stream leader
 * stalled; Keel cannot fix the server, it can show it).
 *
 * For each partition: the `usage` position and the counters are read in one snapshot, then the
 * log is read from its start up to that position, folded exactly as the processor folds
 * (usage-fold.ts), and compared per (partition, tenant, minute) from `since` on. A difference
 * names the partition, tenant, minute, both figures and the batch ids the log holds for it.
 */
import type { EventLog, LogBatch } from '../log/event-log.js';
import { readPosition } from '../processing/positions.js';
import type { Store } from '../store/store.js';
import { foldUsage, minuteOf } from './usage-fold.js';
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

export interface VerifyReport {
  since: number;
  partitions: { partition: number; position: number; batchesRead: number }[];
  /** Buckets compared. */
  buckets: number;
  differences: CountDifference[];
}

const PAGE = 500;
const MAX_IDS = 50;

export async function verifyUsageCounts(o: { log: EventLog; store: Store; since: number }): Promise<VerifyReport> {
  const since = minuteOf(o.since);
  // One snapshot: positions and the counters they stand for.
  // (SQLite: a transaction is a snapshot already.)
  const trx = o.store.db.transaction();
  const { positions, counters } = await (o.store.engine === 'postgres' ? trx.setIsolationLevel('repeatable read') : trx).execute(async (trx) => {
    const positions: number[] = [];
    for (let p = 0; p < o.log.partitions; p++) positions.push(await readPosition(trx, USAGE_PROCESSOR, p));
    const counters = await trx
      .selectFrom('usage_minutes')
      .select(['partition', 'tenant_id', 'minute'])
      .select((eb) => [eb.fn.sum<number>('events').as('events'), eb.fn.sum<number>('bytes').as('bytes')])
      .where('minute', '>=', since)
      .groupBy(['partition', 'tenant_id', 'minute'])
      .execute();
    return { positions, counters };
  });
  const report: VerifyReport = { since, partitions: [], buckets: 0, differences: [] };
  const key = (p: number, tenant: string, minute: number) => `${p}\u0000${tenant}\u0000${minute}`;
  const fromLog = new Map<string, { partition: number; tenant: string; minute: number; events: number; bytes: number; ids: string[] }>();
  for (let p = 0; p < o.log.partitions; p++) {
    const upTo = positions[p]!;
    let after = 0;
    let read = 0;
    while (after < upTo) {
      const page = (await o.log.read(p, after, { maxBatches: PAGE })).filter((b) => b.position <= upTo);
      if (page.length === 0) break;
      after = page[page.length - 1]!.position;
      read += page.length;
      const recent: LogBatch[] = page.filter((b) => b.receivedAt >= since);
      for (const row of foldUsage(recent)) {
        const k = key(row.partition, row.tenant, row.minute);
        const acc = fromLog.get(k) ?? { partition: row.partition, tenant: row.tenant, minute: row.minute, events: 0, bytes: 0, ids: [] };
        acc.events += row.events;
        acc.bytes += row.bytes;
        fromLog.set(k, acc);
      }
      for (const b of recent) {
        const acc = fromLog.get(key(b.partition, b.tenant, minuteOf(b.receivedAt)))!;
        if (acc.ids.length < MAX_IDS) acc.ids.push(b.id ?? `position ${b.position}`);
      }
    }
    report.partitions.push({ partition: p, position: upTo, batchesRead: read });
  }
  const counted = new Map(counters.map((c) => [key(Number(c.partition), c.tenant_id, Number(c.minute)), c]));
  for (const k of new Set([...fromLog.keys(), ...counted.keys()])) {
    report.buckets++;
    const l = fromLog.get(k);
    const c = counted.get(k);
    const log = { events: l?.events ?? 0, bytes: l?.bytes ?? 0 };
    const cnt = { events: Number(c?.events ?? 0), bytes: Number(c?.bytes ?? 0) };
    if (log.events === cnt.events && log.bytes === cnt.bytes) continue;
    const [partition, tenant, minute] = k.split('\u0000') as [string, string, string];
    report.differences.push({ partition: Number(partition), tenant, minute: Number(minute), log, counted: cnt, batches: l?.ids ?? [] });
  }
  report.differences.sort((a, b) => a.partition - b.partition || a.minute - b.minute || a.tenant.localeCompare(b.tenant));
  return report;
}
