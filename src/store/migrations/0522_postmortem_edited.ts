import { sql, type Kysely } from 'kysely';

/**
 * When a person last stored the postmortem (null: it is as generated). Regenerating never
 * overwrites an edited postmortem without `force`. Postmortems stored before this column are
 * taken as edited: whether a person wrote them is not known, and losing their words is the worse
 * mistake.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('incident_postmortems').addColumn('edited_at', 'bigint').execute();
  await db.schema.alterTable('incident_postmortems').addColumn('edited_by', 'text').execute();
  await sql`UPDATE incident_postmortems SET edited_at = updated_at, edited_by = author`.execute(db);
}
