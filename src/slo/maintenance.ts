/**
 * Pruning by the retention of `retention.ts`; retired generations are deleted series by series, so
 * no single transaction grows large.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database, DbFence } from '../store/schema.js';
import { currentGenerations } from './generations.js';
import { fineRetentionMs, retentionMs } from './retention.js';
import { DAY, floorTo } from './windows.js';

/**
 * `fence` runs first in every transaction that deletes (the leader lease's `assertHeld`): a
 * deposed leader's prune, resumed after a stall, deletes nothing.
 */
export async function pruneSlo(db: Kysely<Database>, now: number, fence?: DbFence): Promise<{ rows: number; retired: number }> {
  let rows = 0;
  for (const g of await currentGenerations(db)) {
    const ids = (await db.selectFrom('slo_series').select('id').where('gen_uid', '=', g.uid).execute()).map((r) => Number(r.id));
    if (ids.length === 0) continue;
    const fineCutoff = floorTo(now - fineRetentionMs(g.slo), DAY);
    const coarseCutoff = floorTo(now - retentionMs(g.slo), DAY);
    await db.transaction().execute(async (trx) => {
      await fence?.(trx);
      rows += Number((await trx.deleteFrom('slo_counts').where('series_id', 'in', ids).where('res', '=', 10).where('bucket', '<', fineCutoff).executeTakeFirst()).numDeletedRows);
      rows += Number((await trx.deleteFrom('slo_counts').where('series_id', 'in', ids).where('bucket', '<', coarseCutoff).executeTakeFirst()).numDeletedRows);
      rows += Number((await trx.deleteFrom('slo_slices').where('series_id', 'in', ids).where('bucket', '<', coarseCutoff).executeTakeFirst()).numDeletedRows);
      rows += Number((await trx.deleteFrom('slo_slice_rollups').where('series_id', 'in', ids).where('bucket', '<', coarseCutoff).executeTakeFirst()).numDeletedRows);
    });
  }
  const retired = await db.selectFrom('slo_generations').select('uid').where('current', '=', 0).execute();
  for (const { uid } of retired) {
    const ids = (await db.selectFrom('slo_series').select('id').where('gen_uid', '=', uid).execute()).map((r) => Number(r.id));
    for (const id of ids) {
      await db.transaction().execute(async (trx) => {
        await fence?.(trx);
        rows += Number((await trx.deleteFrom('slo_counts').where('series_id', '=', id).executeTakeFirst()).numDeletedRows);
        rows += Number((await trx.deleteFrom('slo_slices').where('series_id', '=', id).executeTakeFirst()).numDeletedRows);
        rows += Number((await trx.deleteFrom('slo_slice_rollups').where('series_id', '=', id).executeTakeFirst()).numDeletedRows);
        await trx.deleteFrom('slo_series').where('id', '=', id).execute();
      });
    }
    await db.transaction().execute(async (trx) => {
      await fence?.(trx);
      await trx.deleteFrom('slo_backfill_partitions').where('gen_uid', '=', uid).execute();
      await trx.deleteFrom('slo_generations').where('uid', '=', uid).execute();
    });
  }
  // Claims whose generation was replaced before its backfill began.
  await db.transaction().execute(async (trx) => {
    await fence?.(trx);
    await trx.deleteFrom('slo_backfill_partitions').where('gen_uid', 'not in', trx.selectFrom('slo_generations').select('uid')).execute();
  });
  return { rows, retired: retired.length };
}
