/**
 * Automatic triggers, pure: whether an alert or an opening incident matches a runbook's matcher
 * (label equality, then an optional CEL `when`), and whether a matched trigger may start a run
 * now (one active run per concurrency key, queued or skipped; cooldown; circuit breaker).
 */
import { holds } from './conditions.js';
import type { AlertContext, IncidentContext } from './runs.js';

export interface MatcherSpec {
  labels: Record<string, string>;
  when?: string | undefined;
}

function labelsMatch(m: MatcherSpec, labels: Record<string, string>): boolean {
  return Object.entries(m.labels).every(([k, v]) => labels[k] === v);
}

/** Every matcher label equals the alert's label (service and severity count as labels too), and `when` holds. */
export function matchesAlert(m: MatcherSpec, alert: AlertContext & { service?: string | null }): boolean {
  const labels: Record<string, string> = { ...alert.labels, severity: alert.severity, source: alert.source, ...(alert.service ? { service: alert.service } : {}) };
  return labelsMatch(m, labels) && (m.when === undefined || holds(m.when, { alert }));
}

/** An incident as triggers see it: its fields and the labels of its alerts. */
export type IncidentFacts = IncidentContext & { labels: Record<string, string> };

export interface IncidentMatcherSpec extends MatcherSpec {
  severities?: readonly string[] | undefined;
}

/** The severity is one listed, the labels (alerts' labels, service, severity) are equal, and `when` holds. */
export function matchesIncident(m: IncidentMatcherSpec, incident: IncidentFacts): boolean {
  if (m.severities && !m.severities.includes(incident.severity)) return false;
  const labels: Record<string, string> = { ...incident.labels, severity: incident.severity, ...(incident.service ? { service: incident.service } : {}) };
  return labelsMatch(m, labels) && (m.when === undefined || holds(m.when, { incident }));
}

export type TriggerDecision = 'run' | 'queue' | 'cooldown' | 'concurrent' | 'breaker';

/**
 * In this order: a run already active for the key (one at a time: skipped, unless the runbook
 * queues); the cooldown since the key's last automatic run (queued ones count, so at most one
 * queues per cooldown); the circuit breaker (at most `maxRunsPerHour` automatic runs of the
 * runbook in the last hour: beyond it, a person is paged instead); then queue behind the active
 * run, or run.
 */
export function decideTrigger(input: {
  activeForKey: number;
  lastRunForKey: number | null;
  automaticRunsLastHour: number;
  cooldownMs: number;
  maxRunsPerHour: number;
  now: number;
  queue?: boolean;
}): TriggerDecision {
  if (input.activeForKey > 0 && !input.queue) return 'concurrent';
  if (input.lastRunForKey !== null && input.now - input.lastRunForKey < input.cooldownMs) return 'cooldown';
  if (input.automaticRunsLastHour >= input.maxRunsPerHour) return 'breaker';
  return input.activeForKey > 0 ? 'queue' : 'run';
}
