import type { Kysely } from 'kysely';
import { withSerialKey } from './util.js';

/** The SLO engine: generations, backfill positions, counted series, counters, slices, alert state. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('slo_generations')
    .addColumn('uid', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('slo_name', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('plan_json', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('current', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('backfill_started_at', 'bigint')
    .addColumn('backfill_finished_at', 'bigint')
    .addColumn('backfill_events', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('retired_at', 'bigint')
    .execute();
  await db.schema.createIndex('slo_generations_name').on('slo_generations').columns(['tenant_id', 'slo_name', 'current']).execute();
  await db.schema
    .createTable('slo_backfill_partitions')
    .addColumn('gen_uid', 'text', (c) => c.notNull())
    .addColumn('partition', 'integer', (c) => c.notNull())
    .addColumn('live_from', 'bigint', (c) => c.notNull())
    .addColumn('origin', 'bigint', (c) => c.notNull())
    .addColumn('cursor', 'bigint', (c) => c.notNull())
    .addColumn('done', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('slo_backfill_partitions_pk', ['gen_uid', 'partition'])
    .execute();
  await withSerialKey(db, db.schema.createTable('slo_series'), 'id')
    .addColumn('gen_uid', 'text', (c) => c.notNull())
    .addColumn('objective', 'integer', (c) => c.notNull())
    .addColumn('breakdown', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('slo_series_key').unique().on('slo_series').columns(['gen_uid', 'objective', 'breakdown']).execute();
  await db.schema
    .createTable('slo_counts')
    .addColumn('series_id', 'bigint', (c) => c.notNull())
    .addColumn('res', 'integer', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('good', 'bigint', (c) => c.notNull())
    .addColumn('total', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('slo_counts_pk', ['series_id', 'res', 'bucket'])
    .execute();
  await db.schema
    .createTable('slo_slices')
    .addColumn('series_id', 'bigint', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('good', 'bigint', (c) => c.notNull())
    .addColumn('total', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('slo_slices_pk', ['series_id', 'bucket'])
    .execute();
  await db.schema
    .createTable('slo_slice_rollups')
    .addColumn('series_id', 'bigint', (c) => c.notNull())
    .addColumn('res', 'integer', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('good_slices', 'bigint', (c) => c.notNull())
    .addColumn('total_slices', 'bigint', (c) => c.notNull())
    .addColumn('ratio_sum', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('slo_slice_rollups_pk', ['series_id', 'res', 'bucket'])
    .execute();
  await db.schema
    .createTable('slo_meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('slo_alert_state')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('slo_name', 'text', (c) => c.notNull())
    .addColumn('alert_key', 'text', (c) => c.notNull())
    .addColumn('objective', 'integer', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('since', 'bigint', (c) => c.notNull())
    .addColumn('pending_json', 'text', (c) => c.notNull())
    .addColumn('values_json', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('slo_alert_state_pk', ['tenant_id', 'slo_name', 'alert_key'])
    .execute();
  await withSerialKey(db, db.schema.createTable('slo_alert_history'), 'id')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('slo_name', 'text', (c) => c.notNull())
    .addColumn('alert_key', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('values_json', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('slo_alert_history_slo').on('slo_alert_history').columns(['tenant_id', 'slo_name', 'at']).execute();
}
