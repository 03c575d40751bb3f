/**
 * Runbook runs in the Store: creating one, moving it through the run machine, and reading runs
 * and journals. Every change is one transaction that writes the new state (guarded by the run's
 * version), its journal rows, one audit entry per journal row and, when the run is tied to an
 * incident, its timeline entries: the journal, the audit chain and the timeline cannot disagree.
 */
import type { Kysely, Transaction } from 'kysely';
import type { AuditLog } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { readSpecs } from '../definitions/read-specs.js';
import { AfterCommit, inRetriedTransaction } from '../core/after-commit.js';
import { isUniqueViolation, type IncidentService } from '../paging/incidents/incident-service.js';
import { appendTimeline } from '../paging/incidents/timeline.js';
import type { Database, DbFence } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { RunbookDefinition } from './kind.js';
import { resolveParams, type ParamValue } from './params.js';
import { apply, initialState, isFinal, MachineError, queuedState, type JournalEntry, type RunEvent, type RunState } from './run-machine.js';
import { planOf, stepKind, type RunbookSpec } from './spec.js';
import type { RunbookRunsTable } from './tables.js';
import type { StepProcess } from './leftover-process.js';
import { render, TemplateError } from './templates.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface AlertContext {
  labels: Record<string, string>;
  summary: string;
  severity: string;
  source: string;
  dedup_key: string;
  status: string;
}

export interface IncidentContext {
  id: string;
  number: number;
  title: string;
  severity: string;
  service: string | null;
  state: string;
}

export interface RunRecord {
  id: string;
  tenant: string;
  runbook: string;
  runbookVersion: number;
  spec: RunbookSpec;
  params: Record<string, ParamValue>;
  context: { alert?: AlertContext; incident?: IncidentContext };
  incidentId: string | null;
  trigger: string;
  actor: string;
  state: RunState;
  concurrencyKey: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  version: number;
  /** What the running command step printed so far (null when none is recorded). */
  live: LiveOutput | null;
}

/**
 * A running command step's output so far, with the step and attempt it belongs to: shown as the
 * step's live output only while that attempt has no recorded output of its own.
 */
export interface LiveOutput {
  step: string;
  attempt: number;
  stdout: string;
  stderr: string;
  at: number;
}

export interface StartInput {
  tenant: string;
  runbook: string;
  params: Record<string, ParamValue>;
  actor: string;
  trigger: 'manual' | 'alert' | 'incident' | 'schedule';
  incident?: string;
  alert?: AlertContext;
  concurrencyKey?: string | null;
  /** Queued behind the active run of its concurrency key (a trigger's `concurrencyPolicy: queue`). */
  queued?: boolean;
}

/** What a dry run shows: every step with its templates resolved, nothing run. */
export interface DryRunStep {
  name: string;
  kind: string;
  safe_to_repeat: boolean;
  resolved: Record<string, unknown>;
}

class VersionConflict extends Error {}

/** Journal events that also go on the incident timeline (the rest stay in the run's journal). */
const TIMELINE_EVENTS = new Set([
  'run.created',
  'run.queued',
  'run.dequeued',
  'run.succeeded',
  'run.failed',
  'run.aborted',
  'step.succeeded',
  'step.failed',
  'step.outcome_unknown',
  'approval.requested',
  'approval.approved',
  'approval.rejected',
  'approval.timed_out',
  'verify.passed',
  'verify.failed',
]);

export class RunService {
  /** Called after a change commits (wakes the executor). */
  onChange: () => void = () => undefined;

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      audit: AuditLog;
      incidents: IncidentService;
      /** The remaining error budget (percent) of an SLO, for `guard` (undefined: cannot tell). */
      budget?: (tenant: string, slo: string) => Promise<number | undefined>;
      /** An approval step started waiting: ask its approvers, in the same transaction. */
      approvalRequested?: (trx: Transaction<Database>, run: RunRecord, step: string, fx: AfterCommit) => Promise<void>;
    },
  ) {}

  /**
   * Why the error-budget guard refuses a run now (at or below the threshold, or unreadable), or
   * undefined. Read outside any transaction: the SLO status reads the store on its own (on SQLite,
   * inside a transaction it would wait for itself).
   */
  async guardProblem(tenant: string, runbook: string, spec: RunbookSpec): Promise<string | undefined> {
    if (!spec.guard) return undefined;
    const left = await this.deps.budget?.(tenant, spec.guard.slo).catch(() => undefined);
    if (left === undefined) return `runbook ${runbook} is guarded by SLO ${spec.guard.slo}, whose error budget cannot be read now; not running it`;
    if (left <= spec.guard.minBudgetRemainingPercent)
      return `runbook ${runbook} needs more than ${spec.guard.minBudgetRemainingPercent}% of SLO ${spec.guard.slo}'s error budget left; ${left}% is left`;
    return undefined;
  }

  async definition(db: Db, tenant: string, name: string): Promise<{ spec: RunbookSpec; version: number }> {
    const rows = await readSpecs<RunbookDefinition>(db, tenant, 'Runbook');
    const d = rows.find((r) => r.name === name);
    if (!d) throw new KeelError('not_found', `runbook "${name}" not found (apply it with keel apply -f)`);
    return { spec: d.spec, version: d.version };
  }

  async runbooks(tenant: string): Promise<{ name: string; version: number; spec: RunbookDefinition }[]> {
    return readSpecs<RunbookDefinition>(this.deps.store.db, tenant, 'Runbook');
  }

  /** Resolves the parameters, the incident and every template of a run without running anything. */
  async dryRun(input: StartInput): Promise<{ runbook: string; version: number; params: Record<string, ParamValue>; incident: IncidentContext | null; steps: DryRunStep[] }> {
    const db = this.deps.store.db;
    const { spec, version } = await this.definition(db, input.tenant, input.runbook);
    const params = resolveParams(spec.parameters, input.params);
    const incident = input.incident ? incidentContext(await this.deps.incidents.require(db, input.tenant, input.incident)) : undefined;
    const values = templateValues({
      id: '(dry run)',
      runbook: input.runbook,
      actor: input.actor,
      trigger: input.trigger,
      params,
      context: { ...(input.alert ? { alert: input.alert } : {}), ...(incident ? { incident } : {}) },
      state: null,
      spec,
    });
    const shown = (text: string) => renderForRecord(text, values);
    const steps = spec.steps.map((s): DryRunStep => {
      const kind = stepKind(s);
      const resolved: Record<string, unknown> = {};
      if (s.http)
        Object.assign(resolved, {
          method: s.http.method,
          url: shown(s.http.url),
          headers: Object.fromEntries(Object.entries(s.http.headers).map(([k, v]) => [k, shown(v)])),
          ...(s.http.body !== undefined ? { body: shown(s.http.body) } : {}),
        });
      if (s.command) Object.assign(resolved, { argv: s.command.argv.map(shown), env: Object.fromEntries(Object.entries(s.command.env).map(([k, v]) => [k, shown(v)])) });
      if (s.keel)
        Object.assign(resolved, {
          action: s.keel.action,
          ...(s.keel.text !== undefined ? { text: shown(s.keel.text) } : {}),
          ...(s.keel.severity ? { severity: s.keel.severity } : {}),
          ...(s.keel.tenant ? { tenant: shown(s.keel.tenant) } : {}),
          ...(s.keel.matchers ? { matchers: s.keel.matchers.map(shown), duration: s.keel.duration } : {}),
          ...(s.keel.users ? { users: s.keel.users.map(shown) } : {}),
          ...(s.keel.schedules ? { schedules: s.keel.schedules.map(shown) } : {}),
          ...(s.keel.slo !== undefined ? { slo: shown(s.keel.slo) } : {}),
          incident: s.keel.incident ? shown(s.keel.incident) : (incident?.number ?? null),
        });
      if (s.wait) Object.assign(resolved, s.wait.duration ? { duration: s.wait.duration } : { until: s.wait.until, every: s.wait.every, timeout: s.timeout });
      if (s.approval) Object.assign(resolved, { users: s.approval.users, ...(s.approval.role ? { role: s.approval.role } : {}), timeout: s.timeout });
      if (s.condition) Object.assign(resolved, { if: s.condition.if, else: s.condition.else });
      return { name: s.name, kind, safe_to_repeat: s.safeToRepeat, resolved };
    });
    return { runbook: input.runbook, version, params, incident: incident ?? null, steps };
  }

  /** Creates a run (acknowledged once committed: the executor takes it from there). */
  async start(input: StartInput, db?: Transaction<Database>): Promise<RunRecord> {
    const work = async (trx: Transaction<Database>, fx: AfterCommit) => {
      const { spec, version } = await this.definition(trx, input.tenant, input.runbook);
      const params = resolveParams(spec.parameters, input.params);
      const incident = input.incident ? await this.deps.incidents.require(trx, input.tenant, input.incident) : undefined;
      const now = this.deps.clock.now();
      const { state, journal } = input.queued && input.concurrencyKey ? queuedState(planOf(spec), input.concurrencyKey) : initialState(planOf(spec), now);
      const context = { ...(input.alert ? { alert: input.alert } : {}), ...(incident ? { incident: incidentContext(incident) } : {}) };
      const row: RunbookRunsTable = {
        id: newId('run'),
        tenant_id: input.tenant,
        runbook: input.runbook,
        runbook_version: version,
        spec_json: JSON.stringify(spec),
        params_json: JSON.stringify(params),
        context_json: JSON.stringify(context),
        incident_id: incident?.id ?? null,
        trigger: input.trigger,
        actor: input.actor,
        status: state.status,
        phase: state.phase,
        due_at: state.dueAt,
        state_json: JSON.stringify(state),
        concurrency_key: input.concurrencyKey ?? null,
        created_at: now,
        updated_at: now,
        finished_at: null,
        version: 1,
        live_output_json: null,
        step_process_json: null,
      };
      await trx.insertInto('runbook_runs').values(row).execute();
      const run = toRun(row);
      await this.record(trx, run, [{ event: 'run.created', step: null, actor: input.actor, data: { runbook: input.runbook, version, trigger: input.trigger, params } }, ...journal], input.actor, fx);
      return run;
    };
    // With a caller's transaction (triggers), the caller checked the guard before opening it.
    if (db) return work(db, new AfterCommit());
    const { spec } = await this.definition(this.deps.store.db, input.tenant, input.runbook);
    const refused = await this.guardProblem(input.tenant, input.runbook, spec);
    if (refused) throw new KeelError('conflict', refused);
    return this.inTransaction(work);
  }

  async get(db: Db, tenant: string, id: string): Promise<RunRecord> {
    const row = await db.selectFrom('runbook_runs').selectAll().where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (!row) throw new KeelError('not_found', `run ${id} not found`);
    return toRun(row);
  }

  /** One run of a tenant. */
  async find(tenant: string, id: string): Promise<RunRecord> {
    return this.get(this.deps.store.db, tenant, id);
  }

  /** A run by id, any tenant (the executor's read). */
  async read(id: string): Promise<RunRecord> {
    const row = await this.deps.store.db.selectFrom('runbook_runs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new KeelError('not_found', `run ${id} not found`);
    return toRun(row);
  }

  async list(tenant: string, filter: { runbook?: string; status?: string[]; from?: number; limit?: number } = {}): Promise<RunRecord[]> {
    let q = this.deps.store.db.selectFrom('runbook_runs').selectAll().where('tenant_id', '=', tenant).orderBy('created_at', 'desc').orderBy('id');
    if (filter.runbook) q = q.where('runbook', '=', filter.runbook);
    if (filter.status?.length) q = q.where('status', 'in', filter.status);
    if (filter.from !== undefined) q = q.where('created_at', '>=', filter.from);
    return (await q.limit(filter.limit ?? 100).execute()).map(toRun);
  }

  async journal(tenant: string, id: string): Promise<{ seq: number; at: number; step: string | null; event: string; actor: string; data: Record<string, unknown> }[]> {
    const rows = await this.deps.store.db.selectFrom('runbook_journal').selectAll().where('tenant_id', '=', tenant).where('run_id', '=', id).orderBy('seq').execute();
    return rows.map((r) => ({ seq: Number(r.seq), at: Number(r.at), step: r.step, event: r.event, actor: r.actor, data: JSON.parse(r.data_json) as Record<string, unknown> }));
  }

  /** Runs the executor should look at: active and due (or every active one, for recovery). */
  async due(now: number, limit: number): Promise<{ id: string; dueAt: number | null }[]> {
    const rows = await this.deps.store.db
      .selectFrom('runbook_runs')
      .select(['id', 'due_at'])
      .where('status', 'in', ['running', 'waiting'])
      .where('due_at', 'is not', null)
      .where('due_at', '<=', now)
      .orderBy('due_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, dueAt: r.due_at === null ? null : Number(r.due_at) }));
  }

  async nextDue(): Promise<number | null> {
    const r = await this.deps.store.db
      .selectFrom('runbook_runs')
      .select((eb) => eb.fn.min('due_at').as('d'))
      .where('status', 'in', ['running', 'waiting'])
      .executeTakeFirst();
    return r?.d === null || r?.d === undefined ? null : Number(r.d);
  }

  /**
   * Runs whose current step was journaled as started: left by a process that stopped, with the
   * process group its command step was running in, when one was recorded.
   */
  async started(): Promise<{ id: string; tenant: string; process: StepProcess | null }[]> {
    const rows = await this.deps.store.db
      .selectFrom('runbook_runs')
      .select(['id', 'tenant_id', 'step_process_json'])
      .where('phase', '=', 'started')
      .where('status', 'in', ['running', 'waiting'])
      .execute();
    return rows.map((r) => ({ id: r.id, tenant: r.tenant_id, process: r.step_process_json ? (JSON.parse(r.step_process_json) as StepProcess) : null }));
  }

  /**
   * Records the process group a command step just started (see recordLive for `version`): what a
   * Keel restarted after a crash ends before it decides about the step. False when it did not land.
   */
  recordProcess(id: string, version: number, p: StepProcess): Promise<boolean> {
    return this.setAtVersion(id, version, { step_process_json: JSON.stringify(p) });
  }

  /**
   * Records a running step's output so far: one column of one row, no journal row, no audit entry
   * (the step's result carries its final output there). Only while the run is at `version`, the
   * one the step's start wrote: once the result (or an abort, or another leader's recovery) is
   * recorded, a late report changes nothing. False when it did not land.
   */
  recordLive(id: string, version: number, live: LiveOutput): Promise<boolean> {
    return this.setAtVersion(id, version, { live_output_json: JSON.stringify(live) });
  }

  /** Sets columns of a running step's row that are not its state (no version change, no journal) while the run is at `version`. */
  private async setAtVersion(id: string, version: number, set: Pick<Partial<RunbookRunsTable>, 'live_output_json' | 'step_process_json'>): Promise<boolean> {
    const r = await this.deps.store.db.updateTable('runbook_runs').set(set).where('id', '=', id).where('version', '=', version).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Moves a run by one event, in one transaction: `make` reads the run (and may do a keel step's
   * work in the same transaction) and returns the event, or null to change nothing.
   */
  async transition(
    id: string,
    make: (run: RunRecord, trx: Transaction<Database>, fx: AfterCommit) => Promise<RunEvent | null>,
    options: { actor: string; fence?: DbFence; tenant?: string },
  ): Promise<RunRecord> {
    return this.inTransaction(async (trx, fx) => {
      if (options.fence) await options.fence(trx);
      const row = await trx.selectFrom('runbook_runs').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row || (options.tenant !== undefined && row.tenant_id !== options.tenant)) throw new KeelError('not_found', `run ${id} not found`);
      const run = toRun(row);
      const event = await make(run, trx, fx);
      if (!event) return run;
      const now = this.deps.clock.now();
      let next;
      try {
        next = apply(planOf(run.spec), run.state, event, now);
      } catch (e) {
        if (e instanceof MachineError) throw new KeelError('conflict', `run ${id}: ${e.message}`);
        throw e;
      }
      // A recovery keeps what an interrupted step printed (shown as partial while a person decides).
      const after = await this.write(trx, run, next, now, options.actor, fx, event.type === 'recover');
      // The run ended: the next run queued for its concurrency key starts, in the same commit.
      if (isFinal(after.state.status) && !isFinal(run.state.status) && run.concurrencyKey !== null) await this.dequeue(trx, run.tenant, run.runbook, run.concurrencyKey, fx);
      return after;
    });
  }

  /** Writes a run's next state (guarded by its version) with its journal; clears the live output unless `keepLive`. */
  private async write(
    trx: Transaction<Database>,
    run: RunRecord,
    next: { state: RunState; journal: JournalEntry[] },
    now: number,
    actor: string,
    fx: AfterCommit,
    keepLive = false,
  ): Promise<RunRecord> {
    const r = await trx
      .updateTable('runbook_runs')
      .set({
        status: next.state.status,
        phase: next.state.phase,
        due_at: next.state.dueAt,
        state_json: JSON.stringify(next.state),
        updated_at: now,
        finished_at: next.state.finishedAt,
        version: run.version + 1,
        ...(keepLive ? {} : { live_output_json: null }),
        step_process_json: null,
      })
      .where('id', '=', run.id)
      .where('version', '=', run.version)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new VersionConflict();
    const after: RunRecord = { ...run, state: next.state, version: run.version + 1, updatedAt: now, finishedAt: next.state.finishedAt, live: keepLive ? run.live : null };
    await this.record(trx, after, next.journal, actor, fx);
    return after;
  }

  /**
   * Starts the oldest run queued for a concurrency key when no run of the key is active. Called
   * in the transaction that ends a run, and by the trigger pass for every queued key (a queue
   * row that committed after the run ahead of it ended, or one left by a crash).
   */
  async dequeue(trx: Transaction<Database>, tenant: string, runbook: string, key: string, fx: AfterCommit): Promise<RunRecord | undefined> {
    const base = trx.selectFrom('runbook_runs').where('tenant_id', '=', tenant).where('runbook', '=', runbook).where('concurrency_key', '=', key);
    const active = await base.select('id').where('status', 'in', ['running', 'waiting']).limit(1).executeTakeFirst();
    if (active) return undefined;
    const row = await base.selectAll().where('status', '=', 'queued').orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
    if (!row) return undefined;
    const run = toRun(row);
    const now = this.deps.clock.now();
    return this.write(trx, run, apply(planOf(run.spec), run.state, { type: 'dequeue' }, now), now, 'system', fx);
  }

  /**
   * Concurrency keys with queued runs and no active run (tenant, runbook, key): what `dequeue`
   * would start. Read first, so a pass with nothing to start writes nothing (a write wakes the
   * executor, whose next pass would look again).
   */
  async freeQueuedKeys(): Promise<{ tenant: string; runbook: string; key: string }[]> {
    const db = this.deps.store.db;
    const rows = await db.selectFrom('runbook_runs').select(['tenant_id', 'runbook', 'concurrency_key']).distinct().where('status', '=', 'queued').execute();
    const out: { tenant: string; runbook: string; key: string }[] = [];
    for (const r of rows) {
      if (r.concurrency_key === null) continue;
      const active = await db
        .selectFrom('runbook_runs')
        .select('id')
        .where('tenant_id', '=', r.tenant_id)
        .where('runbook', '=', r.runbook)
        .where('concurrency_key', '=', r.concurrency_key)
        .where('status', 'in', ['running', 'waiting'])
        .limit(1)
        .executeTakeFirst();
      if (!active) out.push({ tenant: r.tenant_id, runbook: r.runbook, key: r.concurrency_key });
    }
    return out;
  }

  /** A person approves (or rejects) the approval step the run waits on. */
  async approve(tenant: string, id: string, principal: Principal, approve: boolean, reason?: string): Promise<RunRecord> {
    return this.transition(
      id,
      async (run) => {
        const step = run.spec.steps[run.state.step];
        if (run.state.phase !== 'approval' || !step?.approval)
          throw new KeelError(
            'conflict',
            `run ${id} is not waiting for an approval (it is ${run.state.status}${run.state.phase === 'unknown' ? ', with a step whose outcome is unknown: use decide' : ''})`,
          );
        if (!mayApprove(step.approval, principal)) {
          const who = [...step.approval.users, ...(step.approval.role ? [`anyone with the ${step.approval.role} role`] : [])].join(', ');
          throw new KeelError('forbidden', `step ${step.name} may be approved only by ${who}`);
        }
        return approve ? { type: 'approve', actor: principal.actor } : { type: 'reject', actor: principal.actor, ...(reason ? { reason } : {}) };
      },
      { actor: principal.actor, tenant },
    );
  }

  /** A person decides about a step whose outcome is unknown: run it again, skip it, or abort. */
  async decide(tenant: string, id: string, decision: 'retry' | 'skip' | 'abort', actor: string): Promise<RunRecord> {
    return this.transition(id, async () => ({ type: 'decide', decision, actor }), { actor, tenant });
  }

  async abort(tenant: string, id: string, actor: string, reason?: string): Promise<RunRecord> {
    return this.transition(id, async () => ({ type: 'abort', actor, ...(reason ? { reason } : {}) }), { actor, tenant });
  }

  /** A transaction retried when another writer moved the run or took the audit sequence number first. */
  async inTransaction<T>(fn: (trx: Transaction<Database>, fx: AfterCommit) => Promise<T>): Promise<T> {
    try {
      // Another writer moved the run (or took the audit sequence number) first: read it again.
      const result = await inRetriedTransaction(this.deps.store.db, fn, (e, attempt) => attempt < 20 && (e instanceof VersionConflict || isUniqueViolation(e)));
      this.onChange();
      return result;
    } catch (e) {
      if (e instanceof VersionConflict) throw new KeelError('conflict', 'the run changed meanwhile; try again');
      throw e;
    }
  }

  /** Journal rows, audit entries and timeline entries of one change, in its transaction. */
  private async record(trx: Transaction<Database>, run: RunRecord, journal: JournalEntry[], actor: string, fx: AfterCommit): Promise<void> {
    const now = this.deps.clock.now();
    for (const j of journal) {
      const rec = j.step ? run.state.steps.find((s) => s.name === j.step) : undefined;
      const data: Record<string, unknown> = { ...j.data, ...(rec && (j.event === 'step.succeeded' || j.event === 'step.failed') && rec.output !== undefined ? { output: rec.output } : {}) };
      const who = j.actor ?? (j.event === 'run.created' ? actor : `runbook:${run.runbook}`);
      await trx
        .insertInto('runbook_journal')
        .values({ run_id: run.id, tenant_id: run.tenant, at: now, step: j.step, event: j.event, actor: who, data_json: JSON.stringify(data) })
        .execute();
      await this.deps.audit.recordIn(trx, {
        actor: who,
        action: `runbooks.${j.event}`,
        tenant: run.tenant,
        target: `runbook-run/${run.id}${j.step ? `/${j.step}` : ''}`,
        after: { runbook: run.runbook, ...data },
      });
      if (j.event === 'approval.requested' && j.step) await this.deps.approvalRequested?.(trx, run, j.step, fx);
      if (run.incidentId && TIMELINE_EVENTS.has(j.event)) {
        await appendTimeline(
          trx,
          { id: run.incidentId, tenant: run.tenant },
          {
            at: now,
            actor: who,
            type: 'runbook',
            message: `Runbook ${run.runbook}: ${j.event.replace('.', ' ')}${j.step ? ` ${j.step}` : ''}${typeof data.error === 'string' ? ` (${data.error})` : ''}`,
            data: { run_id: run.id, event: j.event, ...(j.step ? { step: j.step } : {}) },
          },
        );
      }
    }
  }
}

export function mayApprove(approval: NonNullable<RunbookSpec['steps'][number]['approval']>, p: Principal): boolean {
  if (p.kind === 'user' && approval.users.map((u) => u.toLowerCase()).includes(p.email.toLowerCase())) return true;
  if (!approval.role) return false;
  const needs = approval.role === 'responder' ? 'incidents:respond' : approval.role === 'editor' ? 'definitions:write' : 'users:manage';
  return p.permissions.has(needs);
}

export function incidentContext(i: { id: string; number: number; title: string; severity: string; service: string | null; state: string }): IncidentContext {
  return { id: i.id, number: i.number, title: i.title, severity: i.severity, service: i.service, state: i.state };
}

/** What templates and conditions read: params, earlier steps' outputs, alert, incident, run. */
export function templateValues(run: {
  id: string;
  runbook: string;
  actor: string;
  trigger: string;
  params: Record<string, ParamValue>;
  context: RunRecord['context'];
  state: RunState | null;
  spec: RunbookSpec;
}): Record<string, unknown> {
  const steps: Record<string, { output: unknown }> = {};
  for (const s of run.state?.steps ?? []) if (s.output !== undefined) steps[s.name] = { output: s.output };
  return { params: run.params, steps, alert: run.context.alert, incident: run.context.incident, run: { id: run.id, runbook: run.runbook, actor: run.actor, trigger: run.trigger } };
}

/** Renders for the record: secrets masked, values a dry run cannot know shown as their template. */
export function renderForRecord(text: string, values: Record<string, unknown>): string {
  return text.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (raw, inner: string) => {
    if (inner.startsWith('secrets.')) return `[secret ${inner.slice(8)}]`;
    try {
      return render(raw, values, () => '');
    } catch (e) {
      if (e instanceof TemplateError) return `<${inner}>`;
      throw e;
    }
  });
}

export function toRun(row: RunbookRunsTable): RunRecord {
  return {
    id: row.id,
    tenant: row.tenant_id,
    runbook: row.runbook,
    runbookVersion: Number(row.runbook_version),
    spec: JSON.parse(row.spec_json) as RunbookSpec,
    params: JSON.parse(row.params_json) as Record<string, ParamValue>,
    context: JSON.parse(row.context_json) as RunRecord['context'],
    incidentId: row.incident_id,
    trigger: row.trigger,
    actor: row.actor,
    state: JSON.parse(row.state_json) as RunState,
    concurrencyKey: row.concurrency_key,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    version: Number(row.version),
    live: row.live_output_json ? (JSON.parse(row.live_output_json) as LiveOutput) : null,
  };
}

export { isFinal };
