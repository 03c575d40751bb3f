/**
 * Incident metrics over a time range: MTTA and MTTR (overall and per service), incidents by
 * severity, and on-call load as pages per person per week. Pure: data in, numbers out.
 * MTTA counts incidents that were acknowledged (or mitigated/resolved by a person); MTTR counts
 * resolved ones; both over incidents opened in the range.
 */
import { DateTime } from 'luxon';

export interface IncidentFacts {
  service: string | null;
  severity: string;
  openedAt: number;
  acknowledgedAt: number | null;
  resolvedAt: number | null;
}

export interface PageFact {
  user: string;
  at: number;
}

export interface Summary {
  incidents: number;
  acknowledged: number;
  resolved: number;
  mtta_seconds: number | null;
  mttr_seconds: number | null;
  by_severity: Record<string, number>;
}

export interface IncidentMetrics {
  from: string;
  to: string;
  overall: Summary;
  services: (Summary & { service: string })[];
  on_call_load: { user: string; pages: number; pages_per_week: number; weeks: Record<string, number> }[];
}

function mean(xs: number[]): number | null {
  return xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10 : null;
}

export function summarise(list: readonly IncidentFacts[]): Summary {
  const by: Record<string, number> = { SEV1: 0, SEV2: 0, SEV3: 0, SEV4: 0 };
  for (const i of list) by[i.severity] = (by[i.severity] ?? 0) + 1;
  const acked = list.filter((i) => i.acknowledgedAt !== null);
  const resolved = list.filter((i) => i.resolvedAt !== null);
  return {
    incidents: list.length,
    acknowledged: acked.length,
    resolved: resolved.length,
    mtta_seconds: mean(acked.map((i) => (i.acknowledgedAt! - i.openedAt) / 1000)),
    mttr_seconds: mean(resolved.map((i) => (i.resolvedAt! - i.openedAt) / 1000)),
    by_severity: by,
  };
}

export function isoWeek(t: number): string {
  return DateTime.fromMillis(t, { zone: 'UTC' }).toFormat("kkkk-'W'WW");
}

export function incidentMetrics(incidents: readonly IncidentFacts[], pages: readonly PageFact[], from: number, to: number): IncidentMetrics {
  const inRange = incidents.filter((i) => i.openedAt >= from && i.openedAt < to);
  const services = new Map<string, IncidentFacts[]>();
  for (const i of inRange) {
    const key = i.service ?? '';
    const list = services.get(key);
    if (list) list.push(i);
    else services.set(key, [i]);
  }
  const weeks = Math.max((to - from) / (7 * 86_400_000), 1 / 7);
  const load = new Map<string, { pages: number; weeks: Record<string, number> }>();
  // The ISO week of each UTC day once: luxon costs ~1.6 µs a call, a year of pages is 10,000 calls.
  const weekOfDay = new Map<number, string>();
  for (const p of pages) {
    if (p.at < from || p.at >= to) continue;
    const l = load.get(p.user) ?? { pages: 0, weeks: {} };
    l.pages++;
    const day = Math.floor(p.at / 86_400_000);
    let w = weekOfDay.get(day);
    if (w === undefined) weekOfDay.set(day, (w = isoWeek(p.at)));
    l.weeks[w] = (l.weeks[w] ?? 0) + 1;
    load.set(p.user, l);
  }
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    overall: summarise(inRange),
    services: [...services.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([service, list]) => ({ service, ...summarise(list) })),
    on_call_load: [...load.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([user, l]) => ({ user, pages: l.pages, pages_per_week: Math.round((l.pages / weeks) * 100) / 100, weeks: l.weeks })),
  };
}
