import type { Kysely } from 'kysely';

/**
 * Acknowledgement timeouts pending: one row per incident, for its latest acknowledgement. Fired
 * (or canceled) once, in the transaction that acts on it, like escalation timers.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ack_timeouts')
    .addColumn('incident_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('acknowledged_at', 'bigint', (c) => c.notNull())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('fired_at', 'bigint')
    .addColumn('canceled_at', 'bigint')
    .execute();
  await db.schema.createIndex('ack_timeouts_due').on('ack_timeouts').columns(['fired_at', 'canceled_at', 'due_at']).execute();
}
