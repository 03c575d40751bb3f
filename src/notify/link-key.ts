/**
 * The key that signs one-click links: 32 random bytes created once per installation and stored
 * sealed by the SecretBox (so it is "derived" from the secret key: whoever holds that key can
 * open it, and every node of a distributed deployment signs and verifies with the same key).
 */
import { randomBytes } from 'node:crypto';
import type { SecretBox } from '../core/secrets.js';
import type { Store } from '../store/store.js';

export async function loadLinkKey(store: Store, box: SecretBox, now: number): Promise<Buffer> {
  const read = () => store.db.selectFrom('paging_settings').select('sealed').where('tenant_id', '=', '*').where('key', '=', 'link_key').executeTakeFirst();
  let row = await read();
  if (!row) {
    const sealed = box.seal(randomBytes(32).toString('base64'));
    // Two nodes starting at once: the first insert wins and both read it back.
    await store.db
      .insertInto('paging_settings')
      .values({ tenant_id: '*', key: 'link_key', value_json: '{}', sealed, updated_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
      .execute();
    row = await read();
  }
  return Buffer.from(box.open(row!.sealed!), 'base64');
}
