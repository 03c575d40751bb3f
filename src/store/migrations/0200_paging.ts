import { sql, type Kysely } from 'kysely';
import { withSerialKey } from './util.js';

/** Paging and incidents: routing results, incidents, escalation timers, notifications, on-call. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Events v2 `acknowledge` marks an open alert acknowledged (an `acknowledged` transition).
  await db.schema.alterTable('alerts').addColumn('acknowledged_at', 'bigint').execute();

  await db.schema
    .createTable('paging_alerts')
    .addColumn('alert_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('service', 'text')
    .addColumn('route', 'text')
    .addColumn('incident_id', 'text')
    .addColumn('suppressed_by', 'text')
    .addColumn('grouping_key', 'text')
    .addColumn('processed_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('paging_alerts_tenant').on('paging_alerts').columns(['tenant_id', 'processed_at']).execute();

  await db.schema
    .createTable('incidents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('service', 'text')
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('grouping_key', 'text')
    .addColumn('escalation_policy', 'text')
    .addColumn('opened_at', 'bigint', (c) => c.notNull())
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('mitigated_at', 'bigint')
    .addColumn('resolved_at', 'bigint')
    .addColumn('closed_at', 'bigint')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addUniqueConstraint('incidents_tenant_number', ['tenant_id', 'number'])
    .execute();
  await db.schema.createIndex('incidents_open').on('incidents').columns(['tenant_id', 'service', 'state']).execute();
  await db.schema.createIndex('incidents_opened').on('incidents').columns(['tenant_id', 'opened_at']).execute();

  await db.schema
    .createTable('incident_counters')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey())
    .addColumn('last', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('incident_alerts')
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('alert_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('attached_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('incident_alerts_pk', ['incident_id', 'alert_id'])
    .execute();
  await db.schema.createIndex('incident_alerts_alert').on('incident_alerts').column('alert_id').execute();

  await db.schema
    .createTable('incident_roles')
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('assigned_at', 'bigint', (c) => c.notNull())
    .addColumn('assigned_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('incident_roles_pk', ['incident_id', 'role'])
    .execute();

  await withSerialKey(db, db.schema.createTable('incident_timeline'), 'seq')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('data_json', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('incident_timeline_incident').on('incident_timeline').columns(['incident_id', 'seq']).execute();

  await db.schema
    .createTable('incident_action_items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('owner_user_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('incident_action_items_incident').on('incident_action_items').columns(['tenant_id', 'incident_id']).execute();

  await db.schema
    .createTable('incident_postmortems')
    .addColumn('incident_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('markdown', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('author', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('escalations')
    .addColumn('incident_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('pass', 'integer', (c) => c.notNull())
    .addColumn('step', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('escalation_timers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('pass', 'integer', (c) => c.notNull())
    .addColumn('step', 'integer', (c) => c.notNull())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('fired_at', 'bigint')
    .addColumn('canceled_at', 'bigint')
    .addUniqueConstraint('escalation_timers_step', ['incident_id', 'pass', 'step'])
    .execute();
  await db.schema.createIndex('escalation_timers_pending').on('escalation_timers').column('due_at').where(sql.ref('fired_at'), 'is', null).execute();

  await db.schema
    .createTable('notification_jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text')
    .addColumn('user_id', 'text')
    .addColumn('target_name', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('target_json', 'text', (c) => c.notNull())
    .addColumn('message_json', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('last_status', 'integer')
    .addColumn('latency_ms', 'double precision')
    .addColumn('pass', 'integer')
    .addColumn('step', 'integer')
    .execute();
  await db.schema.createIndex('notification_jobs_due').on('notification_jobs').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('notification_jobs_incident').on('notification_jobs').columns(['incident_id', 'created_at']).execute();

  await db.schema
    .createTable('notification_attempts')
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('ok', 'integer', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('latency_ms', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('notification_attempts_pk', ['job_id', 'attempt'])
    .execute();

  await db.schema
    .createTable('contact_methods')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('config_json', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('contact_methods_pk', ['tenant_id', 'user_id', 'name'])
    .execute();

  await db.schema
    .createTable('notification_rules')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('delay_ms', 'bigint', (c) => c.notNull())
    .addColumn('contact_method', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('notification_rules_pk', ['tenant_id', 'user_id', 'position'])
    .execute();

  await db.schema
    .createTable('paging_secrets')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('paging_secrets_pk', ['tenant_id', 'name'])
    .execute();

  await db.schema
    .createTable('paging_settings')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value_json', 'text', (c) => c.notNull())
    .addColumn('sealed', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('paging_settings_pk', ['tenant_id', 'key'])
    .execute();

  await db.schema
    .createTable('used_link_tokens')
    .addColumn('token_id', 'text', (c) => c.primaryKey())
    .addColumn('used_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('schedule_overrides')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('schedule', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('start_at', 'bigint', (c) => c.notNull())
    .addColumn('end_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('schedule_overrides_range').on('schedule_overrides').columns(['tenant_id', 'schedule', 'end_at']).execute();

  await db.schema
    .createTable('ical_feeds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();

  await db.schema
    .createTable('integration_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('service', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('sealed', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();

  await db.schema
    .createTable('heartbeats')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('interval_ms', 'bigint', (c) => c.notNull())
    .addColumn('grace_ms', 'bigint', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('last_ping_at', 'bigint')
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('heartbeats_pk', ['tenant_id', 'name'])
    .execute();
  await db.schema.createIndex('heartbeats_due').on('heartbeats').columns(['status', 'due_at']).execute();
}
