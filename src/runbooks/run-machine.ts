/**
 * The run state machine: what a runbook run does next, given its state, an event and the time.
 * No I/O and no clock of its own, so every transition (retries with backoff, outcome unknown
 * after a crash, condition skips, approvals, timeouts, verify) is unit-tested with plain numbers.
 *
 * The executor journals the `start` of a step with side effects BEFORE running it: a restart
 * that finds a step started but not finished does not know whether it ran. `recover` then runs
 * it again only when it is safe to repeat; otherwise the run waits for a person to retry, skip or
 * abort. Nothing that is not safe to repeat ever runs twice without someone deciding so.
 */
import type { StepKind } from './step-kinds.js';

/** queued: waits for the run ahead of it with the same concurrency key to end (a trigger's `concurrencyPolicy: queue`). */
export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'aborted';
/**
 * ready: the current step can start. started: a step with side effects was journaled as started.
 * backoff: a failed attempt waits to be retried. approval: waits for a person's approval.
 * unknown: a step's outcome is unknown (crash or timeout), a person decides. waiting: a wait step.
 * verifying: the steps are done, the verify condition is polled. done: finished.
 */
export type Phase = 'ready' | 'started' | 'backoff' | 'approval' | 'unknown' | 'waiting' | 'verifying' | 'done';
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'unknown';
export type Outcome = 'succeeded' | 'failed' | 'aborted' | 'verified' | 'not_verified';

export interface StepRecord {
  name: string;
  status: StepStatus;
  attempts: number;
  startedAt: number | null;
  finishedAt: number | null;
  output?: unknown;
  error?: string;
}

export interface RunState {
  status: RunStatus;
  phase: Phase;
  /** Index of the current step (steps.length while verifying and when done). */
  step: number;
  /** When the executor must look at the run again (null: only a person's action moves it). */
  dueAt: number | null;
  /** When a wait-until, approval or verify gives up. */
  deadline: number | null;
  steps: StepRecord[];
  outcome: Outcome | null;
  error: string | null;
  finishedAt: number | null;
}

/** What the machine needs of each step (derived from the spec once per run). */
export interface MachineStep {
  name: string;
  kind: StepKind;
  repeatable: boolean;
  timeoutMs: number | null;
  retries: { attempts: number; backoffMs: number; maxBackoffMs: number };
  /** wait: a fixed duration, or until a condition polled every `everyMs`. */
  waitMs?: number;
  everyMs?: number;
  /** condition: the index a false condition skips to (steps.length = end). */
  elseIndex?: number;
}

export interface MachinePlan {
  steps: MachineStep[];
  verify?: { timeoutMs: number; everyMs: number };
}

export type RunEvent =
  | { type: 'start' }
  | { type: 'finished'; ok: true; output: unknown }
  /** `unknownOutcome`: the step may have had its effect (a timeout after the request was sent). */
  | { type: 'finished'; ok: false; error: string; output?: unknown; unknownOutcome?: boolean }
  /**
   * After a crash mid-step. `leftoverElsewhere`: the step's command was started on another machine
   * (or before a reboot) and may still run there; nothing here can end it.
   */
  | { type: 'recover'; leftoverElsewhere?: { pid: number } }
  | { type: 'decide'; decision: 'retry' | 'skip' | 'abort'; actor: string }
  | { type: 'approve'; actor: string }
  | { type: 'reject'; actor: string; reason?: string }
  | { type: 'condition'; result: boolean }
  | { type: 'poll'; holds: boolean; figures?: unknown }
  | { type: 'tick' }
  | { type: 'abort'; actor: string; reason?: string }
  /** The run ahead of a queued run ended: it enters its first step now. */
  | { type: 'dequeue' };

export interface JournalEntry {
  event: string;
  step: string | null;
  actor?: string;
  data?: Record<string, unknown>;
}

/** What the executor should do with a run now. */
export type NextAction =
  | { kind: 'execute'; step: number }
  | { kind: 'condition'; step: number }
  | { kind: 'poll'; step: number | 'verify' }
  | { kind: 'tick' }
  | { kind: 'sleep'; until: number }
  | { kind: 'person' }
  /** Behind another run of its concurrency key: only that run's end moves it. */
  | { kind: 'queued' }
  | { kind: 'finished' };

export class MachineError extends Error {}

const EFFECT_KINDS: readonly StepKind[] = ['http', 'command', 'keel'];

export function isFinal(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'aborted';
}

/** A run at its first step, nothing entered yet. */
function blankState(plan: MachinePlan, status: RunStatus, dueAt: number | null): RunState {
  return {
    status,
    phase: 'ready',
    step: 0,
    dueAt,
    deadline: null,
    steps: plan.steps.map((s) => ({ name: s.name, status: 'pending', attempts: 0, startedAt: null, finishedAt: null })),
    outcome: null,
    error: null,
    finishedAt: null,
  };
}

/** A new run, entering its first step. */
export function initialState(plan: MachinePlan, now: number): { state: RunState; journal: JournalEntry[] } {
  const state = blankState(plan, 'running', now);
  const journal: JournalEntry[] = [];
  enter(plan, state, 0, now, journal);
  return { state, journal };
}

/**
 * A run queued behind another run of its concurrency key: nothing entered yet (a first wait or
 * approval starts its clock only when the run leaves the queue).
 */
export function queuedState(plan: MachinePlan, key: string): { state: RunState; journal: JournalEntry[] } {
  return { state: blankState(plan, 'queued', null), journal: [{ event: 'run.queued', step: null, data: { concurrency_key: key } }] };
}

/** The backoff before retry number `attempt` (1-based): doubling from `backoffMs`, capped. */
export function backoffMs(retries: MachineStep['retries'], attempt: number): number {
  return Math.min(retries.maxBackoffMs, retries.backoffMs * 2 ** Math.max(0, attempt - 1));
}

export function nextAction(plan: MachinePlan, state: RunState, now: number): NextAction {
  if (isFinal(state.status)) return { kind: 'finished' };
  if (state.status === 'queued') return { kind: 'queued' };
  switch (state.phase) {
    case 'ready': {
      const step = plan.steps[state.step]!;
      return step.kind === 'condition' ? { kind: 'condition', step: state.step } : { kind: 'execute', step: state.step };
    }
    case 'started':
      // Running in this process (the executor holds it), or left by a dead one: `recover` decides.
      return { kind: 'person' };
    case 'unknown':
      return { kind: 'person' };
    case 'approval':
    case 'backoff':
      return state.dueAt !== null && now >= state.dueAt ? { kind: 'tick' } : state.dueAt !== null ? { kind: 'sleep', until: state.dueAt } : { kind: 'person' };
    case 'waiting': {
      if (state.dueAt !== null && now < state.dueAt) return { kind: 'sleep', until: state.dueAt };
      const step = plan.steps[state.step]!;
      if (step.waitMs !== undefined) return { kind: 'tick' };
      return state.deadline !== null && now >= state.deadline ? { kind: 'tick' } : { kind: 'poll', step: state.step };
    }
    case 'verifying':
      if (state.dueAt !== null && now < state.dueAt) return { kind: 'sleep', until: state.dueAt };
      return state.deadline !== null && now >= state.deadline ? { kind: 'tick' } : { kind: 'poll', step: 'verify' };
    case 'done':
      return { kind: 'finished' };
  }
}

/** Applies one event; throws MachineError when the event does not fit the run's state. */
export function apply(plan: MachinePlan, current: RunState, event: RunEvent, now: number): { state: RunState; journal: JournalEntry[] } {
  const state: RunState = structuredClone(current);
  const journal: JournalEntry[] = [];
  const step = plan.steps[state.step];
  const record = state.steps[state.step];
  if (isFinal(state.status)) {
    if (event.type === 'finished' || event.type === 'recover') {
      // A step that ends after the run was aborted: recorded, changes nothing.
      if (event.type === 'finished') journal.push({ event: 'step.finished_after_end', step: record?.name ?? null, data: { ok: event.ok } });
      return { state, journal };
    }
    throw new MachineError(`the run is already ${state.status}`);
  }
  if (state.status === 'queued' || event.type === 'dequeue') {
    if (event.type === 'dequeue' && state.status === 'queued') {
      journal.push({ event: 'run.dequeued', step: null });
      enter(plan, state, 0, now, journal);
      return { state, journal };
    }
    if (event.type !== 'abort')
      throw new MachineError(state.status === 'queued' ? `the run is queued behind another run of its concurrency key, so it cannot take "${event.type}"` : 'the run is not queued');
  }
  const need = (...phases: Phase[]) => {
    if (!phases.includes(state.phase)) throw new MachineError(`the run is ${describe(state)}, so it cannot take "${event.type}"`);
  };
  switch (event.type) {
    case 'start': {
      need('ready');
      if (!step || !EFFECT_KINDS.includes(step.kind)) throw new MachineError('only http, command and keel steps are started');
      record!.attempts += 1;
      record!.status = 'running';
      record!.startedAt ??= now;
      state.phase = 'started';
      state.dueAt = null;
      journal.push({ event: 'step.started', step: step.name, data: { attempt: record!.attempts } });
      break;
    }
    case 'finished': {
      need('started');
      if (event.ok) {
        succeed(state, now, event.output, journal);
        enter(plan, state, state.step + 1, now, journal);
        break;
      }
      record!.error = event.error;
      if (event.output !== undefined) record!.output = event.output;
      if (event.unknownOutcome && !step!.repeatable) {
        awaitDecision(state, record!, step!.name, journal, { attempt: record!.attempts, error: event.error });
        break;
      }
      if (record!.attempts <= step!.retries.attempts) {
        const wait = backoffMs(step!.retries, record!.attempts);
        state.phase = 'backoff';
        state.dueAt = now + wait;
        journal.push({ event: 'step.failed', step: step!.name, data: { attempt: record!.attempts, error: event.error, retry_in_ms: wait } });
        break;
      }
      record!.status = 'failed';
      record!.finishedAt = now;
      journal.push({ event: 'step.failed', step: step!.name, data: { attempt: record!.attempts, error: event.error, final: true } });
      finish(state, 'failed', now, journal, `step ${step!.name} failed: ${event.error}`);
      break;
    }
    case 'recover': {
      if (state.phase !== 'started') break;
      const reason = 'the process running it stopped before recording its result';
      if (event.leftoverElsewhere) {
        // Safe to repeat means safe to run again after it, not beside it: a person checks first.
        awaitDecision(state, record!, step!.name, journal, {
          attempt: record!.attempts,
          reason: `${reason}, and its command (pid ${event.leftoverElsewhere.pid}) was started on another machine or before a reboot: it may still be running there`,
        });
      } else if (step!.repeatable) {
        // Not running until the rerun starts (the executor may have no free slot for it yet).
        record!.status = 'pending';
        state.phase = 'ready';
        state.dueAt = now;
        journal.push({ event: 'step.interrupted', step: step!.name, data: { attempt: record!.attempts, rerun: true } });
      } else {
        awaitDecision(state, record!, step!.name, journal, { attempt: record!.attempts, reason });
      }
      break;
    }
    case 'decide': {
      need('unknown');
      journal.push({ event: `step.${event.decision}`, step: step!.name, actor: event.actor });
      if (event.decision === 'retry') {
        record!.status = 'pending';
        state.phase = 'ready';
        state.status = 'running';
        state.dueAt = now;
      } else if (event.decision === 'skip') {
        record!.status = 'skipped';
        record!.finishedAt = now;
        state.status = 'running';
        enter(plan, state, state.step + 1, now, journal);
      } else {
        finish(state, 'aborted', now, journal, `aborted by ${event.actor} after step ${step!.name}'s outcome was unknown`, event.actor);
      }
      break;
    }
    case 'approve': {
      need('approval');
      journal.push({ event: 'approval.approved', step: step!.name, actor: event.actor });
      state.status = 'running';
      succeed(state, now, { approved_by: event.actor }, journal);
      enter(plan, state, state.step + 1, now, journal);
      break;
    }
    case 'reject': {
      need('approval');
      record!.status = 'failed';
      record!.finishedAt = now;
      record!.error = `rejected by ${event.actor}${event.reason ? `: ${event.reason}` : ''}`;
      journal.push({ event: 'approval.rejected', step: step!.name, actor: event.actor, data: event.reason ? { reason: event.reason } : {} });
      finish(state, 'failed', now, journal, record!.error);
      break;
    }
    case 'condition': {
      need('ready');
      if (step!.kind !== 'condition') throw new MachineError(`step ${step!.name} is not a condition`);
      record!.attempts += 1;
      record!.startedAt = now;
      succeed(state, now, { result: event.result }, journal);
      const to = event.result ? state.step + 1 : step!.elseIndex!;
      for (let i = state.step + 1; i < to; i++) {
        state.steps[i]!.status = 'skipped';
        journal.push({ event: 'step.skipped', step: state.steps[i]!.name, data: { by: step!.name } });
      }
      enter(plan, state, to, now, journal);
      break;
    }
    case 'poll': {
      need('waiting', 'verifying');
      if (state.phase === 'verifying') {
        if (event.holds) {
          journal.push({ event: 'verify.passed', step: null, data: event.figures === undefined ? {} : { figures: event.figures } });
          finish(state, 'verified', now, journal);
        } else {
          state.dueAt = Math.min(now + plan.verify!.everyMs, state.deadline!);
        }
        break;
      }
      if (event.holds) {
        succeed(state, now, { waited_ms: now - (record!.startedAt ?? now) }, journal);
        enter(plan, state, state.step + 1, now, journal);
      } else {
        state.dueAt = Math.min(now + step!.everyMs!, state.deadline!);
      }
      break;
    }
    case 'tick': {
      if (state.phase === 'backoff') {
        if (now < state.dueAt!) break;
        state.phase = 'ready';
        state.dueAt = now;
      } else if (state.phase === 'waiting' && step!.waitMs !== undefined) {
        if (now < state.dueAt!) break;
        succeed(state, now, { waited_ms: now - (record!.startedAt ?? now) }, journal);
        enter(plan, state, state.step + 1, now, journal);
      } else if (state.phase === 'waiting' || state.phase === 'approval') {
        if (now < state.deadline!) break;
        record!.status = 'failed';
        record!.finishedAt = now;
        record!.error = state.phase === 'approval' ? 'nobody approved in time' : 'the condition did not hold in time';
        journal.push({ event: state.phase === 'approval' ? 'approval.timed_out' : 'step.timed_out', step: step!.name });
        finish(state, 'failed', now, journal, `step ${step!.name}: ${record!.error}`);
      } else if (state.phase === 'verifying') {
        if (now < state.deadline!) break;
        journal.push({ event: 'verify.failed', step: null });
        finish(state, 'not_verified', now, journal, 'the verify condition did not hold in time');
      }
      break;
    }
    case 'abort': {
      if (record && state.phase === 'started') journal.push({ event: 'step.abandoned', step: record.name, data: { reason: 'the run was aborted while the step ran' } });
      finish(state, 'aborted', now, journal, `aborted by ${event.actor}${event.reason ? `: ${event.reason}` : ''}`, event.actor);
      break;
    }
  }
  return { state, journal };
}

function describe(state: RunState): string {
  switch (state.phase) {
    case 'approval':
      return 'waiting for an approval';
    case 'unknown':
      return 'waiting for a person to decide on a step whose outcome is unknown';
    case 'started':
      return 'running a step';
    default:
      return state.phase;
  }
}

/** A step that may have had its effect, and may not run twice: the run waits for a person (retry, skip, abort). */
function awaitDecision(state: RunState, record: StepRecord, step: string, journal: JournalEntry[], data: Record<string, unknown>): void {
  record.status = 'unknown';
  state.phase = 'unknown';
  state.status = 'waiting';
  state.dueAt = null;
  journal.push({ event: 'step.outcome_unknown', step, data });
}

function succeed(state: RunState, now: number, output: unknown, journal: JournalEntry[]): void {
  const record = state.steps[state.step]!;
  record.status = 'succeeded';
  record.finishedAt = now;
  record.output = output;
  delete record.error;
  journal.push({ event: 'step.succeeded', step: record.name, data: { attempt: record.attempts } });
}

/** Moves to step `index`, setting the phase its kind starts in. */
function enter(plan: MachinePlan, state: RunState, index: number, now: number, journal: JournalEntry[]): void {
  state.step = index;
  state.deadline = null;
  if (index >= plan.steps.length) {
    if (plan.verify) {
      state.phase = 'verifying';
      state.status = 'running';
      state.dueAt = now;
      state.deadline = now + plan.verify.timeoutMs;
      journal.push({ event: 'verify.started', step: null });
    } else {
      finish(state, 'succeeded', now, journal);
    }
    return;
  }
  const step = plan.steps[index]!;
  const record = state.steps[index]!;
  state.status = 'running';
  if (step.kind === 'approval') {
    record.status = 'running';
    record.startedAt = now;
    state.phase = 'approval';
    state.status = 'waiting';
    state.deadline = now + (step.timeoutMs ?? 0);
    state.dueAt = state.deadline;
    journal.push({ event: 'approval.requested', step: step.name });
  } else if (step.kind === 'wait') {
    record.status = 'running';
    record.startedAt = now;
    record.attempts += 1;
    state.phase = 'waiting';
    if (step.waitMs !== undefined) {
      state.dueAt = now + step.waitMs;
    } else {
      state.dueAt = now;
      state.deadline = now + (step.timeoutMs ?? 0);
    }
    journal.push({ event: 'step.waiting', step: step.name });
  } else {
    state.phase = 'ready';
    state.dueAt = now;
  }
}

function finish(state: RunState, outcome: Outcome, now: number, journal: JournalEntry[], error?: string, actor?: string): void {
  state.status = outcome === 'verified' || outcome === 'succeeded' ? 'succeeded' : outcome === 'aborted' ? 'aborted' : 'failed';
  state.phase = 'done';
  state.outcome = outcome;
  state.dueAt = null;
  state.deadline = null;
  state.finishedAt = now;
  if (error) state.error = error;
  journal.push({ event: `run.${state.status}`, step: null, ...(actor ? { actor } : {}), data: { outcome, ...(error ? { error } : {}) } });
}
