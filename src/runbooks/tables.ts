import type { Generated } from 'kysely';

/**
 * Runbook runs and their journal. A run's whole machine state is one JSON column written with a
 * version check (optimistic concurrency between the executor and people approving); each change
 * appends its journal rows in the same transaction, so the journal never disagrees with the state.
 */
export interface RunbookRunsTable {
  id: string;
  tenant_id: string;
  runbook: string;
  /** The definition version the run was started from (its spec is copied in spec_json). */
  runbook_version: number;
  spec_json: string;
  params_json: string;
  /** alert / incident the run is tied to (templates read them). */
  context_json: string;
  incident_id: string | null;
  /** manual, alert, incident, schedule. */
  trigger: string;
  actor: string;
  /** queued, running, waiting, succeeded, failed, aborted (copied from state_json for queries). */
  status: string;
  phase: string;
  due_at: number | null;
  state_json: string;
  concurrency_key: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** Incremented by every write; a write with a stale version changes nothing. */
  version: number;
  /**
   * The running command step's output so far (LiveOutput as JSON): written without a version
   * change or journal row, cleared by every recorded change but `recover` (runs.ts).
   */
  live_output_json: string | null;
  /**
   * The running command step's process group (StepProcess as JSON, leftover-process.ts): written
   * when the command starts, cleared by every recorded change; read when a crashed run is recovered.
   */
  step_process_json: string | null;
}

export interface RunbookJournalTable {
  seq: Generated<number>;
  run_id: string;
  tenant_id: string;
  at: number;
  step: string | null;
  event: string;
  actor: string;
  data_json: string;
}

/** Per scheduled runbook: the last scheduled time that fired (a run starts in the same transaction). */
export interface RunbookSchedulesTable {
  tenant_id: string;
  runbook: string;
  /** The cron expression and time zone this state is for (a change starts the schedule afresh). */
  cron: string;
  last_fire_at: number;
}

/**
 * Incidents opened since the trigger pass last looked: written by the incident's own transaction
 * (an IncidentHooks.opened hook), deleted by the transaction that starts the runs they match, so
 * an incident starts a run at most once and none is missed across a crash.
 */
export interface RunbookIncidentTriggersTable {
  incident_id: string;
  tenant_id: string;
  opened_at: number;
}

export interface RunbookTables {
  runbook_incident_triggers: RunbookIncidentTriggersTable;
  runbook_schedules: RunbookSchedulesTable;
  runbook_runs: RunbookRunsTable;
  runbook_journal: RunbookJournalTable;
}
