/** Read and advance consumer positions, inside the caller's transaction. */
import type { Db } from '../store/schema.js';

export async function readPosition(db: Db, consumer: string, partition = 0): Promise<number> {
  const row = await db.selectFrom('positions').select('position').where('consumer', '=', consumer).where('partition', '=', partition).executeTakeFirst();
  return row ? Number(row.position) : 0;
}

export async function writePosition(db: Db, consumer: string, partition: number, position: number, now: number): Promise<void> {
  await db
    .insertInto('positions')
    .values({ consumer, partition, position, updated_at: now })
    .onConflict((oc) => oc.columns(['consumer', 'partition']).doUpdateSet({ position, updated_at: now }))
    .execute();
}

/**
 * Reads a consumer's position and locks its row until the transaction ends, so two workers that
 * received the same batch (a redelivery while the first is still busy) are serialised: the second
 * sees the first's committed position and skips what it covers. One portable statement: the
 * upsert's update takes the row lock in PostgreSQL (SQLite serialises write transactions anyway).
 */
export async function lockPosition(db: Db, consumer: string, partition: number, now: number): Promise<number> {
  const row = await db
    .insertInto('positions')
    .values({ consumer, partition, position: 0, updated_at: now })
    .onConflict((oc) => oc.columns(['consumer', 'partition']).doUpdateSet({ updated_at: now }))
    .returning('position')
    .executeTakeFirstOrThrow();
  return Number(row.position);
}
