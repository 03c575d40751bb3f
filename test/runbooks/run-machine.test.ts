import { describe, expect, it } from 'vitest';
import { apply, backoffMs, initialState, MachineError, nextAction, queuedState, type MachinePlan, type MachineStep, type RunState } from '../../src/runbooks/run-machine.js';

const T0 = Date.parse('2026-06-01T10:00:00Z');

function step(name: string, over: Partial<MachineStep> = {}): MachineStep {
  return { name, kind: 'http', repeatable: false, timeoutMs: 30_000, retries: { attempts: 0, backoffMs: 1000, maxBackoffMs: 60_000 }, ...over };
}

function run(plan: MachinePlan, state: RunState, events: Parameters<typeof apply>[2][], now = T0) {
  let s = state;
  const journal: string[] = [];
  for (const e of events) {
    const r = apply(plan, s, e, now);
    s = r.state;
    journal.push(...r.journal.map((j) => `${j.event}${j.step ? ` ${j.step}` : ''}`));
  }
  return { state: s, journal };
}

describe('runbook run machine', () => {
  it('a queued run does nothing until dequeued, then enters its first step (a wait’s clock starts then); it may be aborted', () => {
    const plan: MachinePlan = { steps: [step('w', { kind: 'wait', timeoutMs: 60_000, everyMs: 1000 }), step('b')] };
    const { state, journal } = queuedState(plan, 'eu');
    expect(journal).toEqual([{ event: 'run.queued', step: null, data: { concurrency_key: 'eu' } }]);
    expect(state).toMatchObject({ status: 'queued', dueAt: null, deadline: null });
    expect(nextAction(plan, state, T0)).toEqual({ kind: 'queued' });
    expect(() => apply(plan, state, { type: 'start' }, T0)).toThrow(MachineError);
    expect(() => apply(plan, state, { type: 'approve', actor: 'user:a' }, T0)).toThrow('the run is queued behind another run of its concurrency key');
    const later = T0 + 3_600_000;
    const d = run(plan, state, [{ type: 'dequeue' }], later);
    expect(d.journal).toEqual(['run.dequeued', 'step.waiting w']);
    expect(d.state).toMatchObject({ status: 'running', phase: 'waiting', deadline: later + 60_000 });
    expect(() => apply(plan, d.state, { type: 'dequeue' }, later)).toThrow('the run is not queued');
    expect(run(plan, state, [{ type: 'abort', actor: 'user:a' }]).state.status).toBe('aborted');
  });

  it('runs effect steps in order and succeeds', () => {
    const plan: MachinePlan = { steps: [step('a'), step('b', { kind: 'keel' })] };
    const { state } = initialState(plan, T0);
    expect(nextAction(plan, state, T0)).toEqual({ kind: 'execute', step: 0 });
    const r = run(plan, state, [{ type: 'start' }, { type: 'finished', ok: true, output: { status: 200 } }, { type: 'start' }, { type: 'finished', ok: true, output: {} }]);
    expect(r.state.status).toBe('succeeded');
    expect(r.state.outcome).toBe('succeeded');
    expect(r.state.steps.map((s) => [s.status, s.attempts])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
    expect(r.journal).toEqual(['step.started a', 'step.succeeded a', 'step.started b', 'step.succeeded b', 'run.succeeded']);
  });

  it('retries a failed step after a doubling, capped backoff, then fails the run when retries run out', () => {
    const plan: MachinePlan = { steps: [step('a', { retries: { attempts: 3, backoffMs: 1000, maxBackoffMs: 3000 } })] };
    expect([1, 2, 3, 4].map((n) => backoffMs(plan.steps[0]!.retries, n))).toEqual([1000, 2000, 3000, 3000]);
    let s = run(plan, initialState(plan, T0).state, [{ type: 'start' }, { type: 'finished', ok: false, error: 'HTTP 500' }]).state;
    expect(s.phase).toBe('backoff');
    expect(s.dueAt).toBe(T0 + 1000);
    expect(nextAction(plan, s, T0 + 999)).toEqual({ kind: 'sleep', until: T0 + 1000 });
    expect(nextAction(plan, s, T0 + 1000)).toEqual({ kind: 'tick' });
    s = apply(plan, s, { type: 'tick' }, T0 + 1000).state;
    expect(s.phase).toBe('ready');
    s = run(plan, s, [{ type: 'start' }, { type: 'finished', ok: false, error: 'HTTP 500' }], T0 + 1000).state;
    expect(s.dueAt).toBe(T0 + 1000 + 2000);
    s = run(plan, apply(plan, s, { type: 'tick' }, T0 + 3000).state, [{ type: 'start' }, { type: 'finished', ok: false, error: 'HTTP 500' }], T0 + 3000).state;
    expect(s.dueAt).toBe(T0 + 6000);
    const last = run(plan, apply(plan, s, { type: 'tick' }, T0 + 6000).state, [{ type: 'start' }, { type: 'finished', ok: false, error: 'HTTP 503' }], T0 + 6000);
    expect(last.state.status).toBe('failed');
    expect(last.state.steps[0]!.attempts).toBe(4);
    expect(last.state.error).toBe('step a failed: HTTP 503');
  });

  it('after a crash mid-step, reruns a step that is safe to repeat', () => {
    const plan: MachinePlan = { steps: [step('a', { repeatable: true })] };
    const crashed = run(plan, initialState(plan, T0).state, [{ type: 'start' }]).state;
    expect(crashed.steps[0]).toMatchObject({ status: 'running', attempts: 1 });
    const r = run(plan, crashed, [{ type: 'recover' }]);
    expect(r.state.phase).toBe('ready');
    // Not running until the rerun starts (a busy executor may start it later): pending, as after a person's retry.
    expect(r.state.steps[0]).toMatchObject({ status: 'pending', attempts: 1 });
    expect(r.journal).toEqual(['step.interrupted a']);
    expect(run(plan, r.state, [{ type: 'start' }]).state.steps[0]).toMatchObject({ status: 'running', attempts: 2 });
    expect(nextAction(plan, r.state, T0)).toEqual({ kind: 'execute', step: 0 });
  });

  it('after a crash mid-step, does not rerun a step that is safe to repeat while its command may still run on another machine: a person decides', () => {
    const plan: MachinePlan = { steps: [step('a', { repeatable: true })] };
    const crashed = run(plan, initialState(plan, T0).state, [{ type: 'start' }]).state;
    const r = apply(plan, crashed, { type: 'recover', leftoverElsewhere: { pid: 4242 } }, T0);
    expect(r.state).toMatchObject({ status: 'waiting', phase: 'unknown', dueAt: null });
    expect(r.state.steps[0]).toMatchObject({ status: 'unknown', attempts: 1 });
    expect(r.journal).toEqual([
      {
        event: 'step.outcome_unknown',
        step: 'a',
        data: {
          attempt: 1,
          reason: 'the process running it stopped before recording its result, and its command (pid 4242) was started on another machine or before a reboot: it may still be running there',
        },
      },
    ]);
    expect(nextAction(plan, r.state, T0 + 3_600_000)).toEqual({ kind: 'person' });
    expect(run(plan, r.state, [{ type: 'decide', decision: 'retry', actor: 'user:ann@example.com' }]).state).toMatchObject({ status: 'running', phase: 'ready', step: 0 });
  });

  it('after a crash mid-step, marks a step that is not safe to repeat "outcome unknown" and waits for a person', () => {
    const plan: MachinePlan = { steps: [step('a'), step('b')] };
    const crashed = run(plan, initialState(plan, T0).state, [{ type: 'start' }]).state;
    const r = run(plan, crashed, [{ type: 'recover' }]);
    expect(r.state).toMatchObject({ status: 'waiting', phase: 'unknown' });
    expect(r.state.steps[0]!.status).toBe('unknown');
    expect(nextAction(plan, r.state, T0 + 3_600_000)).toEqual({ kind: 'person' });
    expect(() => apply(plan, r.state, { type: 'start' }, T0)).toThrow(/waiting for a person to decide/);
    // Each decision.
    expect(run(plan, r.state, [{ type: 'decide', decision: 'retry', actor: 'user:ann@example.com' }]).state).toMatchObject({ status: 'running', phase: 'ready', step: 0 });
    const skipped = run(plan, r.state, [{ type: 'decide', decision: 'skip', actor: 'user:ann@example.com' }]).state;
    expect(skipped).toMatchObject({ status: 'running', phase: 'ready', step: 1 });
    expect(skipped.steps[0]!.status).toBe('skipped');
    const aborted = run(plan, r.state, [{ type: 'decide', decision: 'abort', actor: 'user:ann@example.com' }]);
    expect(aborted.state).toMatchObject({ status: 'aborted', outcome: 'aborted' });
    expect(aborted.journal).toEqual(['step.abort a', 'run.aborted']);
  });

  it('a timeout of a step that is not safe to repeat is an unknown outcome, not a retry', () => {
    const plan: MachinePlan = { steps: [step('a', { retries: { attempts: 5, backoffMs: 1, maxBackoffMs: 1 } })] };
    const r = run(plan, initialState(plan, T0).state, [{ type: 'start' }, { type: 'finished', ok: false, error: 'timed out after 30s', unknownOutcome: true }]);
    expect(r.state.phase).toBe('unknown');
    const safe: MachinePlan = { steps: [step('a', { repeatable: true, retries: { attempts: 5, backoffMs: 1, maxBackoffMs: 1 } })] };
    expect(run(safe, initialState(safe, T0).state, [{ type: 'start' }, { type: 'finished', ok: false, error: 'timed out', unknownOutcome: true }]).state.phase).toBe('backoff');
  });

  it('a false condition skips to the named step; a true one continues', () => {
    const plan: MachinePlan = { steps: [step('check', { kind: 'condition', elseIndex: 3 }), step('b'), step('c'), step('d')] };
    const s0 = initialState(plan, T0).state;
    expect(nextAction(plan, s0, T0)).toEqual({ kind: 'condition', step: 0 });
    const no = run(plan, s0, [{ type: 'condition', result: false }]);
    expect(no.state.step).toBe(3);
    expect(no.state.steps.map((s) => s.status)).toEqual(['succeeded', 'skipped', 'skipped', 'pending']);
    expect(run(plan, s0, [{ type: 'condition', result: true }]).state.step).toBe(1);
    const toEnd: MachinePlan = { steps: [step('check', { kind: 'condition', elseIndex: 2 }), step('b')] };
    expect(run(toEnd, initialState(toEnd, T0).state, [{ type: 'condition', result: false }]).state).toMatchObject({ status: 'succeeded', step: 2 });
  });

  it('an approval waits for a person, and fails the run when nobody approves in time or someone rejects', () => {
    const plan: MachinePlan = { steps: [step('ok', { kind: 'approval', timeoutMs: 600_000 }), step('b')] };
    const s0 = initialState(plan, T0);
    expect(s0.journal.map((j) => j.event)).toEqual(['approval.requested']);
    expect(s0.state).toMatchObject({ status: 'waiting', phase: 'approval', dueAt: T0 + 600_000 });
    expect(nextAction(plan, s0.state, T0 + 599_999)).toEqual({ kind: 'sleep', until: T0 + 600_000 });
    const approved = run(plan, s0.state, [{ type: 'approve', actor: 'user:ann@example.com' }]);
    expect(approved.state).toMatchObject({ status: 'running', step: 1 });
    expect(approved.state.steps[0]!.output).toEqual({ approved_by: 'user:ann@example.com' });
    const late = apply(plan, s0.state, { type: 'tick' }, T0 + 600_000);
    expect(late.state).toMatchObject({ status: 'failed', error: 'step ok: nobody approved in time' });
    const rejected = run(plan, s0.state, [{ type: 'reject', actor: 'user:bob@example.com', reason: 'not now' }]);
    expect(rejected.state).toMatchObject({ status: 'failed', error: 'rejected by user:bob@example.com: not now' });
    expect(() => apply(plan, late.state, { type: 'approve', actor: 'user:ann@example.com' }, T0)).toThrow(/already failed/);
  });

  it('a wait for a duration, and a wait until a condition with a timeout', () => {
    const plan: MachinePlan = { steps: [step('pause', { kind: 'wait', waitMs: 60_000 }), step('until', { kind: 'wait', timeoutMs: 300_000, everyMs: 30_000 })] };
    const s0 = initialState(plan, T0).state;
    expect(nextAction(plan, s0, T0 + 59_999)).toEqual({ kind: 'sleep', until: T0 + 60_000 });
    const s1 = apply(plan, s0, { type: 'tick' }, T0 + 60_000).state;
    expect(s1).toMatchObject({ step: 1, phase: 'waiting', deadline: T0 + 360_000 });
    expect(s1.steps[0]!.output).toEqual({ waited_ms: 60_000 });
    expect(nextAction(plan, s1, T0 + 60_000)).toEqual({ kind: 'poll', step: 1 });
    const s2 = apply(plan, s1, { type: 'poll', holds: false }, T0 + 60_000).state;
    expect(s2.dueAt).toBe(T0 + 90_000);
    const held = apply(plan, s2, { type: 'poll', holds: true }, T0 + 90_000).state;
    expect(held).toMatchObject({ status: 'succeeded' });
    const timedOut = apply(plan, s2, { type: 'tick' }, T0 + 360_000).state;
    expect(timedOut).toMatchObject({ status: 'failed', error: 'step until: the condition did not hold in time' });
  });

  it('verify decides the outcome after the last step', () => {
    const plan: MachinePlan = { steps: [step('a', { kind: 'keel' })], verify: { timeoutMs: 600_000, everyMs: 60_000 } };
    const s = run(plan, initialState(plan, T0).state, [{ type: 'start' }, { type: 'finished', ok: true, output: {} }]).state;
    expect(s).toMatchObject({ phase: 'verifying', status: 'running', deadline: T0 + 600_000 });
    expect(apply(plan, s, { type: 'poll', holds: true }, T0 + 1000).state).toMatchObject({ status: 'succeeded', outcome: 'verified' });
    const notYet = apply(plan, s, { type: 'poll', holds: false }, T0).state;
    expect(notYet.dueAt).toBe(T0 + 60_000);
    expect(apply(plan, notYet, { type: 'tick' }, T0 + 600_000).state).toMatchObject({ status: 'failed', outcome: 'not_verified' });
  });

  it('an abort ends the run; a step finishing after it changes nothing', () => {
    const plan: MachinePlan = { steps: [step('a')] };
    const started = run(plan, initialState(plan, T0).state, [{ type: 'start' }]).state;
    const r = run(plan, started, [
      { type: 'abort', actor: 'user:ann@example.com' },
      { type: 'finished', ok: true, output: {} },
    ]);
    expect(r.state).toMatchObject({ status: 'aborted', outcome: 'aborted' });
    expect(r.journal).toEqual(['step.abandoned a', 'run.aborted', 'step.finished_after_end a']);
  });
});
