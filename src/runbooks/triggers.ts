/**
 * Automatic triggers, pure: whether an alert matches a runbook's matcher, and whether a matched
 * trigger may start a run now (cooldown, one active run per concurrency key, circuit breaker).
 */
import type { AlertContext } from './runs.js';

export interface MatcherSpec {
  labels: Record<string, string>;
}

/** Every matcher label equals the alert's label (service and severity count as labels too). */
export function matchesAlert(m: MatcherSpec, alert: AlertContext & { service?: string | null }): boolean {
  const labels: Record<string, string> = { ...alert.labels, severity: alert.severity, source: alert.source, ...(alert.service ? { service: alert.service } : {}) };
  return Object.entries(m.labels).every(([k, v]) => labels[k] === v);
}

export type TriggerDecision = 'run' | 'cooldown' | 'concurrent' | 'breaker';

/**
 * In this order: a run already active for the key (one at a time); the cooldown since the key's
 * last automatic run; the circuit breaker (at most `maxRunsPerHour` automatic runs of the runbook
 * in the last hour: beyond it, a person is paged instead).
 */
export function decideTrigger(input: { activeForKey: number; lastRunForKey: number | null; automaticRunsLastHour: number; cooldownMs: number; maxRunsPerHour: number; now: number }): TriggerDecision {
  if (input.activeForKey > 0) return 'concurrent';
  if (input.lastRunForKey !== null && input.now - input.lastRunForKey < input.cooldownMs) return 'cooldown';
  if (input.automaticRunsLastHour >= input.maxRunsPerHour) return 'breaker';
  return 'run';
}
