/**
 * Two kinds of small rows in `slo_meta`: the configuration `version`, bumped in the same
 * transaction as every change the aggregator must notice (a new generation, a backfill claim), and
 * one `lock:<partition>` row per log partition. The aggregator and the backfill claim both write
 * the lock row first in their transactions; in PostgreSQL that serialises them, so the position a
 * claim reads is exactly the one after which the aggregator counts the new generation.
 */
import { sql } from 'kysely';
import type { Db } from '../store/schema.js';

async function increment(db: Db, key: string): Promise<void> {
  await db
    .insertInto('slo_meta')
    .values({ key, value: 1 })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: sql`slo_meta.value + 1` }))
    .execute();
}

export const bumpVersion = (db: Db): Promise<void> => increment(db, 'version');
export const lockPartition = (db: Db, partition: number): Promise<void> => increment(db, `lock:${partition}`);

export async function readVersion(db: Db): Promise<number> {
  const r = await db.selectFrom('slo_meta').select('value').where('key', '=', 'version').executeTakeFirst();
  return r ? Number(r.value) : 0;
}
