/**
 * `keel verify counts`, the part no domain owns: one snapshot of every checked consumer's
 * positions and counters, then one pass over the readable log that hands each check the batches
 * its counters stand for. Each domain supplies a `CountCheck` (usage in capacity/, SLO totals in
 * slo/) that reads its own tables and folds batches with the code its processor folds them with;
 * this file knows none of their tables.
 *
 * Counters are exact by construction (positions commit with the counters), so a difference means
 * the log changed under them: a replica that lost acknowledged batches and then led the stream,
 * a batch counted that is no longer readable (seen on nats-server 2.9.10).
 *
 * What retention removed cannot be recomputed: when the log was pruned, only what arrived from the
 * oldest batch it still holds on (plus a minute, as arrival order and position order may differ
 * by that much between ingest processes) is compared, and the answer says so.
 */
import type { Transaction } from 'kysely';
import type { EventLog, LogBatch } from '../log/event-log.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { readPosition } from './positions.js';
import { KeelError } from '../core/errors.js';

export interface CountCheckRange {
  /** What the caller asked to compare from (ms). */
  since: number;
  /** The log holds every batch that arrived from here on (ms); undefined when it holds all. */
  logCoveredFrom: number | undefined;
  now: number;
}

export interface CountCheck<R> {
  /** The processor whose committed positions the counters stand for. */
  readonly consumer: string;
  /** Inside the snapshot transaction: read the counters to compare. */
  load(trx: Transaction<Database>, range: CountCheckRange): Promise<void>;
  /** Log batches at or below the consumer's committed position on their partition, in log order. */
  add(batches: readonly LogBatch[]): void;
  /** The comparison, once every batch was added. */
  result(): R;
}

export interface CountCheckRun {
  range: CountCheckRange;
  partitions: { partition: number; positions: Record<string, number>; batchesRead: number }[];
}

const PAGE = 500;
/** Arrival order and position order may differ by this much between ingest processes. */
export const ARRIVAL_SKEW_MS = 60_000;

/** Empty answers of the log in a row, short of a position the counters stand for, before giving up. */
const EMPTY_READS = 10;

/**
 * The next batches of a partition after `after`, up to `upTo` (none when the log holds nothing
 * after `after`, or retention removed batches). An empty answer while the log holds more is
 * read again (the log just restarted, a temporary consumer timed out): stopping there would report
 * every later batch as counted but not in the log. Still empty after several tries, the check
 * fails with `unavailable` (retry) rather than report differences it did not see.
 */
async function readPage(log: EventLog, partition: number, after: number, upTo: number, pruned: boolean): Promise<LogBatch[]> {
  for (let attempt = 1; ; attempt++) {
    const page = (await log.read(partition, after, { maxBatches: PAGE })).filter((b) => b.position <= upTo);
    if (page.length > 0) return page;
    // Nothing after `after` in the log at all, or retention removed batches (the range compared
    // already starts where the log is complete): the read is complete.
    if (pruned || ((await log.stats()).lastPositions[partition] ?? 0) <= after) return [];
    if (attempt >= EMPTY_READS) {
      throw new KeelError(
        'unavailable',
        `the event log answered no batch of partition ${partition} after position ${after}, while the counters stand for position ${upTo}: the comparison is incomplete; try again`,
        { retryAfterSeconds: 2 },
      );
    }
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}

/** Loads every check in one snapshot and hands each its batches; then ask each for its `result()`. */
export async function runCountChecks(o: { log: EventLog; store: Store; since: number; now: number; checks: CountCheck<unknown>[] }): Promise<CountCheckRun> {
  const pruned = await o.log.prunedBefore();
  const range: CountCheckRange = { since: o.since, logCoveredFrom: pruned === undefined ? undefined : pruned + ARRIVAL_SKEW_MS, now: o.now };
  // One snapshot: positions and the counters they stand for. (SQLite: a transaction is one already.)
  const trx = o.store.db.transaction();
  const positions = await (o.store.engine === 'postgres' ? trx.setIsolationLevel('repeatable read') : trx).execute(async (trx) => {
    const positions: number[][] = [];
    for (const c of o.checks) {
      const list: number[] = [];
      for (let p = 0; p < o.log.partitions; p++) list.push(await readPosition(trx, c.consumer, p));
      positions.push(list);
    }
    for (const c of o.checks) await c.load(trx, range);
    return positions;
  });
  const partitions: CountCheckRun['partitions'] = [];
  for (let p = 0; p < o.log.partitions; p++) {
    const upTo = Math.max(0, ...positions.map((list) => list[p]!));
    let after = 0;
    let read = 0;
    while (after < upTo) {
      const page = await readPage(o.log, p, after, upTo, pruned !== undefined);
      if (page.length === 0) break;
      after = page[page.length - 1]!.position;
      read += page.length;
      o.checks.forEach((c, i) => {
        const mine = positions[i]![p]!;
        c.add(mine >= upTo ? page : page.filter((b) => b.position <= mine));
      });
    }
    partitions.push({ partition: p, positions: Object.fromEntries(o.checks.map((c, i) => [c.consumer, positions[i]![p]!])), batchesRead: read });
  }
  return { range, partitions };
}
