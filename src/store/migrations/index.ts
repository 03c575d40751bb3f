/**
 * Every migration, in order. One set for SQLite and PostgreSQL: migrations use kysely's schema
 * builder with portable types only. Add a file and a line here; never edit a released migration.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_tenants_keys.js';
import * as m0002 from './0002_audit.js';
import * as m0003 from './0003_definitions.js';
import * as m0004 from './0004_alerts_positions.js';
import * as m0005 from './0005_people.js';
import * as m0200 from './0200_paging.js';
import * as m0300 from './0300_security.js';
import * as m0100 from './0100_slo.js';
import * as m0400 from './0400_cluster.js';
import * as m0401 from './0401_usage.js';
import * as m0402 from './0402_batch_ids.js';
import * as m0403 from './0403_audit_pending.js';
import * as m0500 from './0500_password_team.js';
import * as m0520 from './0520_incidents_unpaged.js';
import * as m0521 from './0521_timeline_at.js';
import * as m0522 from './0522_postmortem_edited.js';
import * as m0523 from './0523_notification_kind.js';
import * as m0524 from './0524_ack_timeouts.js';
import * as m0540 from './0540_leader_leases.js';
import * as m0720 from './0720_capacity_samples.js';
import * as m0721 from './0721_daily_quotas.js';
import * as m0722 from './0722_limits.js';
import * as m0723 from './0723_bench_results.js';
import * as m0700 from './0700_runbooks.js';
import * as m0701 from './0701_runbook_schedules.js';
import * as m0702 from './0702_runbook_incident_triggers.js';
import * as m0600 from './0600_paging_lookups.js';
import * as m0780 from './0780_history_indexes.js';
import * as m0810 from './0810_runbook_live_output.js';
import * as m0820 from './0820_open_incidents_index.js';
import * as m0830 from './0830_slo_counters_without_rowid.js';
import * as m0840 from './0840_drop_timeline_seq_index.js';
import * as m0850 from './0850_lean_alert_incident_indexes.js';
import * as m0851 from './0851_runbook_step_process.js';

export const migrations: Record<string, Migration> = {
  '0001_tenants_keys': m0001,
  '0002_audit': m0002,
  '0003_definitions': m0003,
  '0004_alerts_positions': m0004,
  '0005_people': m0005,
  '0200_paging': m0200,
  '0300_security': m0300,
  '0100_slo': m0100,
  '0400_cluster': m0400,
  '0401_usage': m0401,
  '0402_batch_ids': m0402,
  '0403_audit_pending': m0403,
  '0500_password_team': m0500,
  '0520_incidents_unpaged': m0520,
  '0521_timeline_at': m0521,
  '0522_postmortem_edited': m0522,
  '0523_notification_kind': m0523,
  '0524_ack_timeouts': m0524,
  '0540_leader_leases': m0540,
  '0720_capacity_samples': m0720,
  '0721_daily_quotas': m0721,
  '0722_limits': m0722,
  '0723_bench_results': m0723,
  '0700_runbooks': m0700,
  '0701_runbook_schedules': m0701,
  '0702_runbook_incident_triggers': m0702,
  '0600_paging_lookups': m0600,
  '0780_history_indexes': m0780,
  '0810_runbook_live_output': m0810,
  '0820_open_incidents_index': m0820,
  '0830_slo_counters_without_rowid': m0830,
  '0840_drop_timeline_seq_index': m0840,
  '0850_lean_alert_incident_indexes': m0850,
  '0851_runbook_step_process': m0851,
};
