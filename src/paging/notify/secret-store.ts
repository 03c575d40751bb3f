/**
 * Named secrets of a tenant (webhook signing secrets, Slack webhook URLs), sealed with the
 * SecretBox before they are stored. Values are never returned by the API and never logged;
 * delivery opens them just before use.
 */
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import { sealedKeyId, type SecretBox } from '../../core/secrets.js';
import { prepared } from '../../store/prepared.js';
import type { Db } from '../../store/schema.js';
import type { Store } from '../../store/store.js';

export interface SecretInfo {
  name: string;
  createdAt: number;
  updatedAt: number;
  updatedBy: string;
}

/** Sealed values kept opened (a Map from sealed text to plain text, oldest dropped first). */
const OPENED_MAX = 1_000;

export class SecretStore {
  private readonly opened = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  async set(tenant: string, name: string, value: string, actor: string): Promise<{ info: SecretInfo; created: boolean }> {
    const now = this.clock.now();
    const sealed = this.box.seal(value);
    const existing = await this.store.db.selectFrom('paging_secrets').select('created_at').where('tenant_id', '=', tenant).where('name', '=', name).executeTakeFirst();
    await this.store.db
      .insertInto('paging_secrets')
      .values({ tenant_id: tenant, name, sealed, created_at: now, updated_at: now, updated_by: actor })
      .onConflict((oc) => oc.columns(['tenant_id', 'name']).doUpdateSet({ sealed, updated_at: now, updated_by: actor }))
      .execute();
    return { info: { name, createdAt: existing ? Number(existing.created_at) : now, updatedAt: now, updatedBy: actor }, created: !existing };
  }

  async list(tenant: string): Promise<SecretInfo[]> {
    const rows = await this.store.db.selectFrom('paging_secrets').select(['name', 'created_at', 'updated_at', 'updated_by']).where('tenant_id', '=', tenant).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at), updatedBy: r.updated_by }));
  }

  async remove(tenant: string, name: string): Promise<void> {
    const r = await this.store.db.deleteFrom('paging_secrets').where('tenant_id', '=', tenant).where('name', '=', name).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw new KeelError('not_found', `secret "${name}" not found`);
  }

  /**
   * The plain value, for delivery only; undefined when no such secret is stored. The row is read
   * every time (a rotated or removed secret is honoured by the next delivery, whichever process
   * changed it); only the unsealing of a sealed value already opened is skipped.
   */
  async open(tenant: string, name: string, db: Db = this.store.db): Promise<string | undefined> {
    const row = await sealedSecret.first(db, { tenant, name });
    if (!row) return undefined;
    let plain = this.opened.get(row.sealed);
    // Checked against the box's keys each time: a value whose key was removed must fail as before.
    if (plain === undefined || !this.box.keyIds().includes(sealedKeyId(row.sealed) ?? '')) {
      plain = this.box.open(row.sealed);
      if (this.opened.size >= OPENED_MAX) this.opened.delete(this.opened.keys().next().value!);
      this.opened.set(row.sealed, plain);
    }
    return plain;
  }
}

// Read for every delivery that uses a secret: compiled once (store/prepared.ts).
const sealedSecret = prepared((db, p: { tenant: string; name: string }) => db.selectFrom('paging_secrets').select('sealed').where('tenant_id', '=', p.tenant).where('name', '=', p.name));
