/**
 * The key that signs one-click links: 32 random bytes created when the first link is issued and
 * stored sealed by the SecretBox (so whoever holds Keel's secret key can open it, key rotation
 * re-encrypts it, and every node of a distributed deployment signs and verifies with the same
 * key). It is created inside the transaction that issues the first link, so a rolled-back
 * transaction leaves no key behind that a link could depend on.
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { SecretBox } from '../../core/secrets.js';
import type { Database, Db } from '../../store/schema.js';

export async function readLinkKey(db: Db, box: SecretBox): Promise<Buffer | undefined> {
  const row = await db.selectFrom('paging_settings').select('sealed').where('tenant_id', '=', '*').where('key', '=', 'link_key').executeTakeFirst();
  return row?.sealed ? Buffer.from(box.open(row.sealed), 'base64') : undefined;
}

/** The key, creating it in `trx` if there is none yet (two nodes at once: the first insert wins). */
export async function ensureLinkKey(trx: Transaction<Database>, box: SecretBox, now: number): Promise<{ key: Buffer; created: boolean }> {
  const existing = await readLinkKey(trx, box);
  if (existing) return { key: existing, created: false };
  await trx
    .insertInto('paging_settings')
    .values({ tenant_id: '*', key: 'link_key', value_json: '{}', sealed: box.seal(randomBytes(32).toString('base64')), updated_at: now })
    .onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
    .execute();
  return { key: (await readLinkKey(trx, box))!, created: true };
}
