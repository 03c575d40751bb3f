import type { Kysely } from 'kysely';

/**
 * The process group of a running command step (pid, boot id, start time; JSON), recorded when the
 * command starts and cleared by the run's next recorded change: a Keel restarted after a crash
 * ends what the dead process left running before it reruns or holds the step
 * (runbooks/leftover-process.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runbook_runs').addColumn('step_process_json', 'text').execute();
}
