import type { Kysely } from 'kysely';

/**
 * What a running command step has printed so far (JSON, secrets redacted, bounded), written by
 * the executor at most once a second and cleared by the run's next recorded change: live output
 * for the console and `keel runbooks show`, kept out of the journal and the audit chain.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runbook_runs').addColumn('live_output_json', 'text').execute();
}
