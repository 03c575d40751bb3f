/**
 * Which keys the stored sealed secrets need: read from every registered sealed column. Backups
 * record it (a restore checks it was given the right key) and start checks it (a Keel whose key
 * cannot open what is stored refuses to start instead of silently losing every secret).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { SealedColumns } from '../core/sealed-columns.js';
import { sealedKeyId } from '../core/secrets.js';

export interface SealedUsage {
  /** Key ids that sealed at least one stored value, sorted. */
  keyIdsInUse: string[];
  /** How many sealed values are stored. */
  values: number;
  /** How many values each key id sealed. */
  perKey: Record<string, number>;
}

export async function sealedUsage(db: Kysely<Database>, sealed: SealedColumns): Promise<SealedUsage> {
  const perKey: Record<string, number> = {};
  let values = 0;
  for (const c of sealed.list()) {
    const r = await sql<{ v: string }>`select ${sql.ref(c.column)} as v from ${sql.table(c.table)} where ${sql.ref(c.column)} is not null`.execute(db);
    for (const row of r.rows) {
      const id = sealedKeyId(String(row.v));
      if (!id) continue;
      perKey[id] = (perKey[id] ?? 0) + 1;
      values++;
    }
  }
  return { keyIdsInUse: Object.keys(perKey).sort(), values, perKey };
}
