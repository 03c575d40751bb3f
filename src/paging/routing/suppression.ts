/**
 * Silences and maintenance windows: both suppress notifications (no incident is opened, nobody
 * is paged) while the alert is still recorded. Pure: no I/O.
 */
import { matchesAll, parseMatcher } from './matchers.js';

export interface SilenceSpec {
  matchers: string[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export interface MaintenanceWindowSpec {
  services: string[];
  startsAt: string;
  endsAt: string;
  description?: string;
}

export function silenceActive(s: { startsAt: string; endsAt: string }, at: number): boolean {
  return Date.parse(s.startsAt) <= at && at < Date.parse(s.endsAt);
}

/** The first active silence or maintenance window that covers the alert, as `silence/<name>`. */
export function suppressedBy(
  input: { labels: Readonly<Record<string, string>>; service: string | null; at: number },
  silences: readonly { name: string; spec: SilenceSpec }[],
  windows: readonly { name: string; spec: MaintenanceWindowSpec }[],
): string | null {
  for (const w of windows) {
    if (input.service && w.spec.services.includes(input.service) && silenceActive(w.spec, input.at)) return `maintenance/${w.name}`;
  }
  for (const s of silences) {
    if (silenceActive(s.spec, input.at) && matchesAll(s.spec.matchers.map(parseMatcher), input.labels)) return `silence/${s.name}`;
  }
  return null;
}
