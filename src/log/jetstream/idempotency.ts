/**
 * Idempotency-Key answers shared by every ingest instance, in the state store. A request's key is
 * reserved (with its body hash) before anything is published, its batch id is derived from the
 * key, and the answer is recorded after the publish is acknowledged. So a crash between publish
 * and answer leaves a reservation without an answer; the retry publishes the same message ids
 * again, which JetStream deduplicates (or, past the duplicate window, finds in the stream).
 */
import { createHash } from 'node:crypto';
import type { Store } from '../../store/store.js';

export interface Reservation {
  bodyHash: string;
  response: string | null;
  batchId: string;
  createdAt: number;
  /** This call made the reservation (no earlier attempt exists). */
  mine: boolean;
}

/** The batch id of an idempotent request: the same for every attempt, on every instance. */
export function idempotentBatchId(tenant: string, key: string): string {
  return `i${createHash('sha256').update(`${tenant}\u0000${key}`).digest('base64url').slice(0, 24)}`;
}

export class IdempotencyAnswers {
  constructor(private readonly store: Store) {}

  /** The recorded answer of a completed request. */
  async find(tenant: string, key: string): Promise<{ response: string; bodyHash: string } | undefined> {
    const row = await this.store.db.selectFrom('ingest_idempotency').select(['response', 'body_hash']).where('tenant_id', '=', tenant).where('key', '=', key).executeTakeFirst();
    if (!row || row.response === null) return undefined;
    return { response: row.response, bodyHash: row.body_hash };
  }

  /** Reserves the key for this body, or returns the reservation another attempt made first. */
  async reserve(tenant: string, key: string, bodyHash: string, now: number): Promise<Reservation> {
    const batchId = idempotentBatchId(tenant, key);
    const inserted = await this.store.db
      .insertInto('ingest_idempotency')
      .values({ tenant_id: tenant, key, body_hash: bodyHash, response: null, batch_id: batchId, created_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
      .executeTakeFirst();
    const row = await this.store.db.selectFrom('ingest_idempotency').selectAll().where('tenant_id', '=', tenant).where('key', '=', key).executeTakeFirstOrThrow();
    return {
      bodyHash: row.body_hash,
      response: row.response,
      batchId: row.batch_id,
      createdAt: Number(row.created_at),
      mine: Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0,
    };
  }

  /**
   * Gives a request that had no Idempotency-Key one, for the batch id it was published under
   * (its outcome is unknown): a retry under this key and with the same body republishes the same
   * message ids, which the stream stores once.
   */
  async adopt(tenant: string, key: string, bodyHash: string, batchId: string, createdAt: number): Promise<void> {
    await this.store.db
      .insertInto('ingest_idempotency')
      .values({ tenant_id: tenant, key, body_hash: bodyHash, response: null, batch_id: batchId, created_at: createdAt })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
      .execute();
  }

  async complete(tenant: string, key: string, bodyHash: string, response: string): Promise<void> {
    await this.store.db.updateTable('ingest_idempotency').set({ response }).where('tenant_id', '=', tenant).where('key', '=', key).where('body_hash', '=', bodyHash).execute();
  }

  /** Forgets answers older than `before` (the idempotency TTL, 24 h by default). */
  async prune(before: number): Promise<number> {
    const r = await this.store.db.deleteFrom('ingest_idempotency').where('created_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
