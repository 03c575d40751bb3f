/**
 * How the event log maps onto JetStream subjects. Partition p is the subject tree
 * `<prefix>.<p>.>`; the last token names the tenant (`keel.events.3.acme`). Workers consume one
 * partition each through a filter on `<prefix>.<p>.>` (the 2.9 server has no multi-filter
 * consumers, and needs none here), and reading one tenant's events is a server-side filter on
 * `<prefix>.*.<tenant>` instead of a scan of the whole stream. Pure functions; no I/O.
 */
export interface SubjectScheme {
  prefix: string;
  partitions: number;
}

export function eventSubject(s: SubjectScheme, partition: number, tenant: string): string {
  return `${s.prefix}.${partition}.${tenant}`;
}

export function partitionFilter(s: SubjectScheme, partition: number): string {
  return `${s.prefix}.${partition}.>`;
}

export function tenantFilter(s: SubjectScheme, tenant: string): string {
  return `${s.prefix}.*.${tenant}`;
}

export function streamSubjects(s: SubjectScheme): string[] {
  return [`${s.prefix}.>`];
}

/** Partition and tenant of a stored message's subject, or undefined for a foreign subject. */
export function parseSubject(s: SubjectScheme, subject: string): { partition: number; tenant: string } | undefined {
  if (!subject.startsWith(`${s.prefix}.`)) return undefined;
  const rest = subject.slice(s.prefix.length + 1);
  const dot = rest.indexOf('.');
  if (dot <= 0) return undefined;
  const partition = Number(rest.slice(0, dot));
  const tenant = rest.slice(dot + 1);
  if (!Number.isInteger(partition) || partition < 0 || tenant.length === 0 || tenant.includes('.')) return undefined;
  return { partition, tenant };
}

/**
 * The partition of a batch: a stable hash (FNV-1a, 32 bits) of tenant and batch id. A tenant's
 * batches spread over every partition, so one large tenant keeps every worker busy; the same
 * batch id (a retried idempotent request) always lands on the same partition.
 */
export function partitionOf(tenant: string, batchId: string, partitions: number): number {
  let h = 0x811c9dc5;
  const text = `${tenant}\u0000${batchId}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

/** The durable consumer of a processor on a partition (JetStream names allow no dots or wildcards). */
export function consumerName(processor: string, partition: number): string {
  return `${processor.replace(/[^A-Za-z0-9_-]/g, '_')}_p${partition}`;
}

/** The inverse of consumerName, for listing consumers as the log's consumers. */
export function parseConsumerName(name: string): { processor: string; partition: number } | undefined {
  const m = /^(.+)_p(\d+)$/.exec(name);
  return m ? { processor: m[1]!, partition: Number(m[2]) } : undefined;
}
