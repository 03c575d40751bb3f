/**
 * Encryption status and key rotation over every registered sealed column: rotation re-encrypts
 * each value sealed with an older key under the current one (optionally generating a new current
 * key first), then retires keys nothing needs any more.
 */
import { sql, type Kysely } from 'kysely';
import { KeelError } from '../core/errors.js';
import type { SealedColumn, SealedColumns } from '../core/sealed-columns.js';
import type { SecretKeyring } from '../core/secret-keyring.js';
import { sealedKeyId } from '../core/secrets.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';

export interface ColumnStatus {
  table: string;
  column: string;
  description: string;
  values: number;
  /** Sealed values per key id. */
  by_key: Record<string, number>;
  /** Values that are not sealed (plaintext where a sealed value belongs). */
  not_sealed: number;
}

export interface EncryptionStatus {
  algorithm: 'AES-256-GCM';
  key_source: 'env' | 'file';
  /** The environment variable or the key file path (never the key). */
  key_location: string;
  current_key_id: string;
  key_ids: string[];
  columns: ColumnStatus[];
  total_values: number;
  /** Values sealed with a key other than the current one (rotation pending). */
  under_older_keys: number;
  /** Values sealed with a key that is not configured: they cannot be opened. */
  unreadable: number;
  not_sealed: number;
}

type Row = Record<string, unknown> & { v: string };

async function rowsOf(db: Kysely<Database>, c: SealedColumn): Promise<Row[]> {
  const keys = sql.join(c.key.map((k) => sql.ref(k)));
  const r = await sql<Row>`select ${keys}, ${sql.ref(c.column)} as v from ${sql.table(c.table)} where ${sql.ref(c.column)} is not null`.execute(db);
  return r.rows;
}

export class SecretRotation {
  constructor(
    private readonly store: Store,
    private readonly keyring: SecretKeyring,
    private readonly sealed: SealedColumns,
  ) {}

  async status(): Promise<EncryptionStatus> {
    const box = this.keyring.box;
    const known = new Set(box.keyIds());
    const columns: ColumnStatus[] = [];
    for (const c of this.sealed.list()) {
      const by_key: Record<string, number> = {};
      let notSealed = 0;
      const rows = await rowsOf(this.store.db, c);
      for (const r of rows) {
        const id = sealedKeyId(String(r.v));
        if (id) by_key[id] = (by_key[id] ?? 0) + 1;
        else notSealed++;
      }
      columns.push({ table: c.table, column: c.column, description: c.description, values: rows.length, by_key, not_sealed: notSealed });
    }
    let older = 0;
    let unreadable = 0;
    for (const col of columns) {
      for (const [id, n] of Object.entries(col.by_key)) {
        if (id !== box.currentKeyId) older += n;
        if (!known.has(id)) unreadable += n;
      }
    }
    return {
      algorithm: 'AES-256-GCM',
      key_source: this.keyring.source.kind,
      key_location: this.keyring.source.location,
      current_key_id: box.currentKeyId,
      key_ids: box.keyIds(),
      columns,
      total_values: columns.reduce((s, c) => s + c.values, 0),
      under_older_keys: older,
      unreadable,
      not_sealed: columns.reduce((s, c) => s + c.not_sealed, 0),
    };
  }

  /** Re-encrypts every value under the current key (after generating a new one when asked). */
  async rotate(options: { newKey: boolean }): Promise<{ new_key_id?: string; reencrypted: number; retired_key_ids: string[]; status: EncryptionStatus }> {
    const before = await this.status();
    if (before.unreadable > 0) {
      throw new KeelError(
        'conflict',
        `${before.unreadable} stored secret(s) are sealed with a key that is not configured (${unknownKeys(before).join(', ')}); add it to KEEL_SECRET_KEY_PREVIOUS or the key file before rotating`,
      );
    }
    if (options.newKey && this.store.engine !== 'sqlite') {
      throw new KeelError('conflict', 'a new key cannot be generated in the distributed mode (each node would get its own): set KEEL_SECRET_KEY on every node instead');
    }
    const newKeyId = options.newKey ? this.keyring.generate() : undefined;
    const box = this.keyring.box;
    let reencrypted = 0;
    for (const c of this.sealed.list()) {
      const rows = (await rowsOf(this.store.db, c)).filter((r) => {
        const id = sealedKeyId(String(r.v));
        return id !== undefined && id !== box.currentKeyId;
      });
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        await this.store.db.transaction().execute(async (trx) => {
          for (const r of chunk) {
            let opened: string;
            try {
              opened = box.open(r.v);
            } catch (e) {
              const row = c.key.map((k) => `${k}=${String(r[k])}`).join(', ');
              throw new KeelError('conflict', `${c.table}.${c.column} (${row}) cannot be opened (${(e as Error).message}); nothing after it was re-encrypted`);
            }
            const resealed = box.seal(opened);
            const match = sql.join(
              c.key.map((k) => sql`${sql.ref(k)} = ${r[k]}`),
              sql` and `,
            );
            // Only if nobody changed the value meanwhile; a changed value is already under the current key.
            const res = await sql`update ${sql.table(c.table)} set ${sql.ref(c.column)} = ${resealed} where ${match} and ${sql.ref(c.column)} = ${r.v}`.execute(trx);
            reencrypted += Number(res.numAffectedRows ?? 0n);
          }
        });
      }
    }
    const after = await this.status();
    const used = new Set(after.columns.flatMap((c) => Object.keys(c.by_key)));
    const retired = this.keyring.retire(used);
    return { ...(newKeyId ? { new_key_id: newKeyId } : {}), reencrypted, retired_key_ids: retired, status: retired.length ? await this.status() : after };
  }
}

function unknownKeys(s: EncryptionStatus): string[] {
  const known = new Set(s.key_ids);
  return [...new Set(s.columns.flatMap((c) => Object.keys(c.by_key)).filter((id) => !known.has(id)))];
}
