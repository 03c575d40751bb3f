/**
 * Escalation policy logic: ordered steps, each notifying people and then waiting; the whole
 * policy repeats `repeat` more times; it stops once the incident is acknowledged or resolved.
 * Pure: explicit times, no I/O.
 */
import { parseDurationMs } from '../../core/time.js';

export interface EscalationTargets {
  users?: string[];
  schedules?: string[];
  channels?: string[];
}

export interface EscalationStepSpec {
  notify: EscalationTargets;
  /** Wait after this step before the next one (or before the next pass), e.g. `5m`. */
  wait: string;
}

export interface EscalationPolicySpec {
  description?: string;
  /** How many more times the whole policy runs after its last step (0: once). */
  repeat: number;
  steps: EscalationStepSpec[];
  /** Acknowledged, alerts still firing, this long: back to triggered (default: off). */
  acknowledgementTimeout?: string;
}

/** The acknowledgement timeout in ms, or null when the policy has none. */
export function ackTimeoutMs(policy: EscalationPolicySpec): number | null {
  if (!policy.acknowledgementTimeout) return null;
  const ms = parseDurationMs(policy.acknowledgementTimeout);
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}

export interface StepPosition {
  pass: number;
  step: number;
}

export function waitMs(policy: EscalationPolicySpec, step: number): number {
  const w = policy.steps[step]?.wait;
  const ms = w === undefined ? NaN : parseDurationMs(w);
  return Number.isFinite(ms) ? ms : 0;
}

/** The step after `at`, or null when the last step of the last pass has fired. */
export function nextPosition(policy: EscalationPolicySpec, at: StepPosition): StepPosition | null {
  if (at.step + 1 < policy.steps.length) return { pass: at.pass, step: at.step + 1 };
  if (at.pass < policy.repeat) return { pass: at.pass + 1, step: 0 };
  return null;
}

/**
 * When each step fires for an incident opened at `openedAt` and acknowledged (or resolved) at
 * `stoppedAt` (Infinity: never): the schedule the scheduler follows, for reasoning and tests.
 */
export function firingPlan(policy: EscalationPolicySpec, openedAt: number, stoppedAt = Infinity): (StepPosition & { at: number })[] {
  const out: (StepPosition & { at: number })[] = [];
  let pos: StepPosition | null = { pass: 0, step: 0 };
  let at = openedAt;
  while (pos && at < stoppedAt) {
    out.push({ ...pos, at });
    at += waitMs(policy, pos.step);
    pos = nextPosition(policy, pos);
  }
  return out;
}
