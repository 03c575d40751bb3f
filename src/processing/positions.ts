/** Read and advance consumer positions, inside the caller's transaction. */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export async function readPosition(db: Db, consumer: string, partition = 0): Promise<number> {
  const row = await db
    .selectFrom('positions')
    .select('position')
    .where('consumer', '=', consumer)
    .where('partition', '=', partition)
    .executeTakeFirst();
  return row ? Number(row.position) : 0;
}

export async function writePosition(db: Db, consumer: string, partition: number, position: number, now: number): Promise<void> {
  await db
    .insertInto('positions')
    .values({ consumer, partition, position, updated_at: now })
    .onConflict((oc) => oc.columns(['consumer', 'partition']).doUpdateSet({ position, updated_at: now }))
    .execute();
}
