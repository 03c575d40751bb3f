import type { Kysely } from 'kysely';

/**
 * Leader leases (src/cluster/leadership.ts): one row per leadership with its holder, an epoch that
 * grows at every change of holder (the fencing token) and an expiry in the database's clock. It
 * replaces session advisory locks, which a stalled (SIGSTOPped) leader kept for as long as its
 * socket stayed open.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('leader_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('epoch', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('tenure_id', 'bigint', (c) => c.notNull())
    .execute();
}
