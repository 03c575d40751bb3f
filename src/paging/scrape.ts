/**
 * The paging gauges Prometheus scrapes (open incidents, MTTA/MTTR over the last 30 days, pending
 * escalation steps and notifications, outbox lag), read through the query functions of the parts
 * owning those tables. Every read first, then the gauges: a read that fails (PostgreSQL down)
 * leaves the last values in place, marked stale, instead of half-reset gauges.
 */
import type { Clock } from '../core/clock.js';
import type { Db } from '../store/schema.js';
import { pendingTimerCount } from './escalation/escalation-queries.js';
import { openIncidentCounts, readIncidentFacts } from './incidents/incident-facts.js';
import { summarise } from './incidents/metrics.js';
import type { PagingMetrics } from './incidents/prometheus.js';
import { pendingJobCount } from './notify/page-history.js';
import { pagingOutboxLag } from './routing/paging-consumer.js';

const MTTA_WINDOW_MS = 30 * 86_400_000;

export async function scrapePagingGauges(db: Db, clock: Clock, metrics: PagingMetrics): Promise<void> {
  const now = clock.now();
  const open = await openIncidentCounts(db);
  const recent = await readIncidentFacts(db, { from: now - MTTA_WINDOW_MS });
  const timers = await pendingTimerCount(db);
  const jobs = await pendingJobCount(db);
  const lag = await pagingOutboxLag(db);
  metrics.openIncidents.reset();
  for (const r of open) metrics.openIncidents.set({ tenant: r.tenant, service: r.service ?? '', severity: r.severity }, r.count);
  metrics.mtta.reset();
  metrics.mttr.reset();
  // Each tenant as a whole (service '') and each of its services.
  // (Appended in place: copying the group for each incident was quadratic in a storm's thousands.)
  const groups = new Map<string, typeof recent>();
  for (const r of recent) {
    for (const key of [`${r.tenant}\u0000`, `${r.tenant}\u0000${r.service ?? ''}`]) {
      const group = groups.get(key);
      if (group) group.push(r);
      else groups.set(key, [r]);
    }
  }
  for (const [key, rows] of groups) {
    const [tenant, service] = key.split('\u0000') as [string, string];
    const s = summarise(rows);
    if (s.mtta_seconds !== null) metrics.mtta.set({ tenant, service }, s.mtta_seconds);
    if (s.mttr_seconds !== null) metrics.mttr.set({ tenant, service }, s.mttr_seconds);
  }
  metrics.pendingTimers.set(timers);
  metrics.pendingJobs.set(jobs);
  metrics.outboxLag.set(lag);
}
