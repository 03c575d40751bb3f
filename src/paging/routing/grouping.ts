/**
 * Alert grouping: alerts of a service with the same grouping key join the same open incident.
 * The key is the service plus the values of the configured labels (`by`); an empty `by` puts
 * every alert of the service into one open incident. Pure: no I/O.
 */
export function groupingKey(service: string, by: readonly string[], labels: Readonly<Record<string, string>>): string {
  if (by.length === 0) return service;
  return `${service}|${by.map((l) => `${l}=${labels[l] ?? ''}`).join(',')}`;
}

/** The labels paging matches routes and silences against: the alert's own, plus what Keel knows. */
export function matchLabels(alert: { labels: Readonly<Record<string, string>>; source: string; severity: string }, service: string | null): Record<string, string> {
  const out: Record<string, string> = { source: alert.source, severity: alert.severity, ...alert.labels };
  if (service) out.service = service;
  return out;
}
