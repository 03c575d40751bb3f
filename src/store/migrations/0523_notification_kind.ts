import type { Kysely } from 'kysely';

/**
 * What a notification job is: a `page` (wakes someone; dropped once the incident is acknowledged;
 * counts in on-call load) or an `update` (incident.acknowledged / incident.resolved to webhooks
 * that were paged; always sent). Jobs made before this column are pages.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('notification_jobs')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('page'))
    .execute();
}
