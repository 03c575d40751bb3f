import type { Kysely } from 'kysely';
import { withSerialKey } from './util.js';

/** Runbook runs (state as JSON, versioned) and their step-by-step journal (src/runbooks/tables.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('runbook_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('runbook', 'text', (c) => c.notNull())
    .addColumn('runbook_version', 'integer', (c) => c.notNull())
    .addColumn('spec_json', 'text', (c) => c.notNull())
    .addColumn('params_json', 'text', (c) => c.notNull())
    .addColumn('context_json', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text')
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('phase', 'text', (c) => c.notNull())
    .addColumn('due_at', 'bigint')
    .addColumn('state_json', 'text', (c) => c.notNull())
    .addColumn('concurrency_key', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('runbook_runs_active').on('runbook_runs').columns(['status', 'due_at']).execute();
  await db.schema.createIndex('runbook_runs_tenant').on('runbook_runs').columns(['tenant_id', 'created_at']).execute();
  await db.schema.createIndex('runbook_runs_key').on('runbook_runs').columns(['tenant_id', 'runbook', 'concurrency_key']).execute();
  await withSerialKey(db, db.schema.createTable('runbook_journal'), 'seq')
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('step', 'text')
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('data_json', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('runbook_journal_run').on('runbook_journal').columns(['run_id', 'seq']).execute();
}
