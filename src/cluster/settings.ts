/**
 * Settings every process of a cluster must share. The partition count decides which subject a
 * batch goes to and which consumers exist: a process started with another count would leave
 * partitions unconsumed, so the first process records it and the others must match.
 */
import { KeelError } from '../core/errors.js';
import type { Store } from '../store/store.js';

export async function agreeOnSetting(store: Store, key: string, value: string, flag: string): Promise<void> {
  await store.db
    .insertInto('cluster_settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await store.db.selectFrom('cluster_settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  if (row.value !== value) {
    throw new KeelError('validation_failed', `this cluster was created with ${key} = ${row.value}, but this process is configured with ${value}; every process must use the same ${flag}`);
  }
}
