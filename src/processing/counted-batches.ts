/**
 * The second half of exactly-once on a log that may store one batch twice. Positions make a
 * redelivered message harmless; they cannot tell that a message at a new position is a copy of
 * one already counted. JetStream deduplicates a republished message id within its duplicate
 * window, except across a stream leader change (a publish retried while the old leader's append
 * was still in flight is stored again: nats-server issues #3006, #7801). So a consumer records the
 * ids it counted, in the transaction that counts them, and skips an id it already holds.
 *
 * Copies are written within one publish timeout of each other, so ids are kept for `KEEP_MS`
 * (far beyond any duplicate window Keel configures) and pruned by the transaction that counts.
 */
import type { Transaction } from 'kysely';
import type { LogBatch } from '../log/event-log.js';
import type { Database } from '../store/schema.js';

export const KEEP_MS = 30 * 60_000;
const PRUNE_EVERY_MS = 60_000;

export class CountedBatches {
  private lastPrune = 0;

  constructor(private readonly consumer: string) {}

  /** The batches whose id this consumer has not counted yet; records theirs in `trx`. */
  async claim(trx: Transaction<Database>, batches: LogBatch[], now: number): Promise<LogBatch[]> {
    const withId = batches.filter((b) => b.id !== undefined);
    if (withId.length === 0) return batches;
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      await trx
        .deleteFrom('counted_batches')
        .where('consumer', '=', this.consumer)
        .where('counted_at', '<', now - KEEP_MS)
        .execute();
      this.lastPrune = now;
    }
    const claimed = await trx
      .insertInto('counted_batches')
      .values(withId.map((b) => ({ consumer: this.consumer, id: b.id!, position: b.position, counted_at: now })))
      .onConflict((oc) => oc.columns(['consumer', 'id']).doNothing())
      .returning('id')
      .execute();
    const fresh = new Set(claimed.map((r) => r.id));
    // One id twice in one delivery: the first (lowest position) counts.
    const taken = new Set<string>();
    return batches.filter((b) => {
      if (b.id === undefined) return true;
      if (!fresh.has(b.id) || taken.has(b.id)) return false;
      taken.add(b.id);
      return true;
    });
  }
}
