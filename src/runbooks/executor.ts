/**
 * The executor: the leader-only loop that drives runs. When it takes the leadership it first
 * recovers runs a stopped process left mid-step (the run machine reruns them only when safe);
 * then it takes due runs, journals a step as started, runs it, and journals its result, each
 * write in a transaction fenced by the lease. A step that was running when this process stops
 * is left "started", exactly as a crash leaves it, and recovered the same way.
 */
import { fenceOf, type LeaderLease } from '../module/context.js';
import type { Clock } from '../core/clock.js';
import { isKeelError } from '../core/errors.js';
import { Waker } from '../core/waker.js';
import type { AfterCommit } from '../core/after-commit.js';
import type { IncidentService } from '../paging/incidents/incident-service.js';
import type { DbFence } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { figureNames, holds } from './conditions.js';
import { TRANSACTIONAL_ACTIONS, type KeelActions } from './keel-actions.js';
import { nextAction } from './run-machine.js';
import { templateValues, type RunRecord, type RunService } from './runs.js';
import { durationMs, planOf, type RunbookStep } from './spec.js';
import { runCommand, runHttp, type EffectDeps, type StepResult } from './steps.js';
import { render, TemplateError } from './templates.js';
import { endLeftover, stepProcess, type LeftoverOutcome, type StepProcess } from './leftover-process.js';

export interface SloFigures {
  burn_rate: number | null;
  budget_remaining: number | null;
  compliance: number | null;
}

/** A tracked limit's latest sample, as a wait reads it (`limits["ID"].utilisation`). */
export interface LimitFigures {
  utilisation: number | null;
  usage: number;
  capacity: number | null;
}

/** What a wait or verify condition was evaluated over (journaled with verify.passed). */
export interface LiveFigures {
  slo: Record<string, SloFigures>;
  limits: Record<string, LimitFigures>;
}

export interface ExecutorDeps {
  runs: RunService;
  clock: Clock;
  logger: Logger;
  keel: KeelActions;
  /** Evaluates a tenant's SLO burn-rate alerts now (`slo.evaluate`; evaluating again is harmless). */
  evaluateSlos(tenant: string): Promise<{ evaluated: number; transitions: number }>;
  /** A tenant's paging secret by name (throws when missing). */
  secret(tenant: string, name: string): Promise<string>;
  /** Pause/resume/quota of a tenant's ingest (idempotent sets). */
  setIngest(tenant: string, patch: { paused?: boolean; eventsPerSecond?: number | null; burst?: number | null; eventsPerDay?: number | null }): Promise<void>;
  slo(tenant: string, name: string): Promise<SloFigures | undefined>;
  /** The latest samples of the named limits the tenant may read (its own; every limit from the system tenant). */
  limits(tenant: string, ids: string[]): Promise<Record<string, LimitFigures>>;
  /** Applies (creates or updates) a Silence definition of the tenant. */
  silence(tenant: string, name: string, spec: { matchers: string[]; startsAt: string; endsAt: string; createdBy: string; comment: string }, actor: string): Promise<void>;
  systemTenant: string;
  commands: readonly string[];
  maxOutputBytes: number;
  defaultStepTimeoutMs: number;
  pollIntervalMs: number;
  concurrency: number;
  /** How often at most a running command's output so far is recorded (default 1 s). */
  liveOutputEveryMs?: number;
  /**
   * Whether another machine may have run a step (a shared PostgreSQL store): a command recorded
   * under another boot may then still run there. With SQLite one machine runs them all, so another
   * boot id means this machine restarted and the command ended with it.
   */
  stepsRunOnOtherMachines: boolean;
  /** Automatic starts (alert matchers, schedules), run by the leader before each look for due runs. */
  triggers?: (fence: DbFence) => Promise<void>;
}

class Stopped extends Error {}

export class RunExecutor {
  private readonly waker = new Waker();
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: ExecutorDeps) {}

  wake(): void {
    this.waker.wake();
  }

  /** The leader's loop; returns when the lease is lost or the executor stops. */
  async lead(lease: LeaderLease): Promise<void> {
    const fence = fenceOf(lease);
    const control = new AbortController();
    const onAbort = () => {
      control.abort();
      this.waker.wake();
    };
    lease.signal.addEventListener('abort', onAbort, { once: true });
    const active = new Map<string, Promise<void>>();
    const loop = async () => {
      for (const run of await this.deps.runs.started()) {
        // What the stopped process left running ends first: a rerun must not run beside it.
        const elsewhere = run.process && this.endLeftover(run.id, run.tenant, run.process) === 'elsewhere' ? { leftoverElsewhere: { pid: run.process.pid } } : {};
        await this.deps.runs.transition(run.id, async () => ({ type: 'recover', ...elsewhere }), { actor: 'system', fence });
      }
      while (!this.stopped && !control.signal.aborted) {
        if (this.deps.triggers) {
          await this.deps.triggers(fence).catch((err: unknown) => {
            if (!control.signal.aborted) this.deps.logger.error({ err }, 'runbook triggers failed; retried on the next pass');
          });
        }
        const now = this.deps.clock.now();
        const free = this.deps.concurrency - active.size;
        if (free > 0) {
          for (const r of await this.deps.runs.due(now, free + active.size)) {
            if (active.has(r.id) || active.size >= this.deps.concurrency) continue;
            const p = this.drive(r.id, lease, control.signal)
              .catch((err: unknown) => {
                if (!(err instanceof Stopped) && !control.signal.aborted) this.deps.logger.error({ err, run: r.id }, 'runbook run step failed to record');
              })
              .finally(() => {
                active.delete(r.id);
                this.waker.wake();
              });
            active.set(r.id, p);
          }
        }
        const next = await this.deps.runs.nextDue();
        const wait = next === null ? this.deps.pollIntervalMs : Math.max(0, Math.min(this.deps.pollIntervalMs, next - this.deps.clock.now()));
        await this.waker.sleep(Math.max(wait, active.size > 0 && next !== null && next <= now ? 10 : 0));
      }
      await Promise.allSettled(active.values());
    };
    this.running = loop();
    try {
      await this.running;
    } finally {
      lease.signal.removeEventListener('abort', onAbort);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waker.wake();
    await this.running?.catch(() => undefined);
  }

  /** Moves one run as far as it goes now. */
  private async drive(id: string, lease: LeaderLease, signal: AbortSignal): Promise<void> {
    const fence = fenceOf(lease);
    for (let guard = 0; guard < 1000; guard++) {
      if (this.stopped || signal.aborted) throw new Stopped();
      const run = await this.deps.runs.read(id);
      const action = nextAction(planOf(run.spec), run.state, this.deps.clock.now());
      switch (action.kind) {
        case 'execute':
          await this.execute(run, action.step, lease, signal);
          break;
        case 'condition': {
          const step = run.spec.steps[action.step]!;
          const result = holds(step.condition!.if, templateValues(run));
          await this.deps.runs.transition(id, async () => ({ type: 'condition', result }), { actor: 'system', fence });
          break;
        }
        case 'poll': {
          const source = action.step === 'verify' ? run.spec.verify!.until : run.spec.steps[action.step]!.wait!.until!;
          const figures = await this.figures(run.tenant, source);
          const ok = holds(source, { ...figures });
          await this.deps.runs.transition(id, async () => ({ type: 'poll', holds: ok, figures }), { actor: 'system', fence });
          break;
        }
        case 'tick':
          await this.deps.runs.transition(id, async () => ({ type: 'tick' }), { actor: 'system', fence });
          break;
        default:
          return;
      }
    }
  }

  /**
   * Records a running step's output so far on the run's row (not journaled, not audited: the
   * step's result is, with its final output). A failed write only delays the live view.
   */
  private liveOutput(run: RunRecord, step: RunbookStep, startedVersion: number): NonNullable<EffectDeps['progress']> {
    const attempt = run.state.steps.find((s) => s.name === step.name)?.attempts ?? 0;
    return {
      everyMs: this.deps.liveOutputEveryMs ?? 1000,
      report: async (output) => {
        await this.deps.runs.recordLive(run.id, startedVersion, { step: step.name, attempt, ...output, at: this.deps.clock.now() }).catch((err: unknown) => {
          this.deps.logger.warn({ err, run: run.id, step: step.name }, 'live step output not recorded; tried again in a second');
          throw err;
        });
      },
    };
  }

  /**
   * Ends a recovered run's leftover command (leftover-process.ts) and says what happened:
   * `elsewhere` when it may still run where this process cannot end it.
   */
  private endLeftover(id: string, tenant: string, p: StepProcess): LeftoverOutcome {
    const outcome = endLeftover(p);
    const at = { run: id, tenant, pid: p.pid };
    if (outcome === 'killed') this.deps.logger.warn(at, 'killed the process group of a command step that a stopped Keel left running');
    if (outcome !== 'elsewhere') return outcome;
    if (!this.deps.stepsRunOnOtherMachines) {
      // One machine runs every step (SQLite): another boot of it, and the command ended with the last one.
      this.deps.logger.warn(at, 'a command step was interrupted by a restart of this machine; it ended with it');
      return 'ended';
    }
    this.deps.logger.error(
      at,
      'a command step of a stopped Keel may still be running on another machine (or before a reboot); it cannot be ended from here: the run waits for a person, check it before deciding about the step',
    );
    return outcome;
  }

  private async figures(tenant: string, source: string): Promise<LiveFigures> {
    const slo: Record<string, SloFigures> = {};
    for (const name of figureNames(source, 'slo')) {
      const f = await this.deps.slo(tenant, name).catch(() => undefined);
      if (f) slo[name] = f;
    }
    const ids = figureNames(source, 'limits');
    // Unreadable now (a database hiccup): the condition does not hold this time and is polled again.
    const limits = ids.length ? await this.deps.limits(tenant, ids).catch(() => ({})) : {};
    return { slo, limits };
  }

  private async execute(run: RunRecord, index: number, lease: LeaderLease, signal: AbortSignal): Promise<void> {
    const fence = fenceOf(lease);
    const step = run.spec.steps[index]!;
    // Journaled as started before anything happens: a crash from here on is seen at restart.
    const started = await this.deps.runs.transition(run.id, async () => ({ type: 'start' }), { actor: 'system', fence });
    const values = templateValues(started);
    const timeoutMs = step.timeout ? durationMs(step.timeout) : this.deps.defaultStepTimeoutMs;
    if (step.keel && TRANSACTIONAL_ACTIONS.has(step.keel.action)) {
      // Incident actions, pages and SLO recounts commit in the same transaction as the step's result: exactly once.
      try {
        await this.deps.runs.transition(run.id, async (_r, trx, fx) => ({ type: 'finished', ok: true, output: await this.deps.keel.inTransaction(started, step, values, trx, fx) }), {
          actor: 'system',
          fence,
        });
      } catch (e) {
        if (!isKeelError(e) && !(e instanceof TemplateError)) throw e;
        const error = (e as Error).message;
        await this.deps.runs.transition(run.id, async () => ({ type: 'finished', ok: false, error }), { actor: 'system', fence });
      }
      return;
    }
    // Side effects outside the database: checked against the lease just before they happen.
    await lease.assertHeld();
    let result: StepResult;
    try {
      result = await this.effect(started, step, values, timeoutMs, signal, started.version);
    } catch (e) {
      if (signal.aborted || this.stopped) throw new Stopped();
      result = { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    if (signal.aborted || this.stopped) throw new Stopped();
    await this.deps.runs.transition(
      run.id,
      async () =>
        result.ok
          ? { type: 'finished', ok: true, output: result.output ?? {} }
          : {
              type: 'finished',
              ok: false,
              error: result.error ?? 'failed',
              ...(result.output !== undefined ? { output: result.output } : {}),
              ...(result.unknownOutcome ? { unknownOutcome: true } : {}),
            },
      { actor: 'system', fence },
    );
  }

  private async effect(run: RunRecord, step: RunbookStep, values: Record<string, unknown>, timeoutMs: number, signal: AbortSignal, startedVersion: number): Promise<StepResult> {
    const effects: EffectDeps = {
      secret: (name) => this.deps.secret(run.tenant, name),
      commands: this.deps.commands,
      maxOutputBytes: this.deps.maxOutputBytes,
      progress: this.liveOutput(run, step, startedVersion),
      spawned: (pid) => {
        const identity = stepProcess(pid);
        if (!identity) return;
        // Not awaited: the command runs meanwhile; a crash before this lands leaves it unrecorded.
        void this.deps.runs.recordProcess(run.id, startedVersion, identity).catch((err: unknown) => {
          this.deps.logger.warn({ err, run: run.id, step: step.name }, 'the process group of a command step was not recorded; a restart after a crash could not end it');
        });
      },
    };
    if (step.http) return runHttp(step, values, effects, timeoutMs, signal);
    if (step.command) return runCommand(step, values, effects, timeoutMs, signal);
    const k = step.keel!;
    if (k.action === 'alerts.silence') {
      // One silence per run and step, by name: after a crash the rerun updates the same one.
      const name = `runbook-${run.id.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${step.name}`;
      const now = this.deps.clock.now();
      const matchers = (k.matchers ?? []).map((m) => render(m, values, () => ''));
      const comment = k.text ? render(k.text, values, () => '') : `silenced by runbook ${run.runbook} (run ${run.id})`;
      try {
        await this.deps.silence(
          run.tenant,
          name,
          { matchers, startsAt: new Date(now).toISOString(), endsAt: new Date(now + durationMs(k.duration!)).toISOString(), createdBy: `runbook:${run.runbook}`, comment },
          `runbook:${run.runbook}`,
        );
      } catch (e) {
        if (isKeelError(e)) return { ok: false, error: e.message };
        throw e;
      }
      return { ok: true, output: { action: k.action, silence: name, result: 'done' } };
    }
    if (k.action === 'slo.evaluate') {
      const r = await this.deps.evaluateSlos(run.tenant);
      return { ok: true, output: { action: k.action, evaluated: r.evaluated, transitions: r.transitions, result: 'done' } };
    }
    const tenant = k.tenant ? render(k.tenant, values, () => '') : run.tenant;
    if (tenant !== run.tenant && run.tenant !== this.deps.systemTenant) return { ok: false, error: `a runbook of tenant ${run.tenant} cannot change tenant ${tenant}` };
    try {
      if (k.action === 'ingest.pause') await this.deps.setIngest(tenant, { paused: true });
      else if (k.action === 'ingest.resume') await this.deps.setIngest(tenant, { paused: false });
      else
        await this.deps.setIngest(tenant, {
          ...(k.eventsPerSecond !== undefined ? { eventsPerSecond: k.eventsPerSecond } : {}),
          ...(k.burst !== undefined ? { burst: k.burst } : {}),
          ...(k.eventsPerDay !== undefined ? { eventsPerDay: k.eventsPerDay } : {}),
        });
    } catch (e) {
      if (isKeelError(e)) return { ok: false, error: e.message };
      throw e;
    }
    return { ok: true, output: { action: k.action, tenant, result: 'done' } };
  }
}
