/**
 * Reading applied definitions of one kind inside any transaction, for domains whose
 * configuration lives as definitions (paging reads Routes, Schedules, EscalationPolicies... in
 * the same transaction as the effects it derives from them).
 */
import type { Db } from '../store/schema.js';

export interface NamedSpec<T> {
  name: string;
  spec: T;
  version: number;
}

export async function readSpecs<T>(db: Db, tenant: string, kind: string): Promise<NamedSpec<T>[]> {
  const rows = await db.selectFrom('definitions').select(['name', 'spec_json', 'version']).where('tenant_id', '=', tenant).where('kind', '=', kind).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, spec: JSON.parse(r.spec_json) as T, version: Number(r.version) }));
}

export async function readSpec<T>(db: Db, tenant: string, kind: string, name: string): Promise<T | undefined> {
  const row = await db.selectFrom('definitions').select('spec_json').where('tenant_id', '=', tenant).where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
  return row ? (JSON.parse(row.spec_json) as T) : undefined;
}
