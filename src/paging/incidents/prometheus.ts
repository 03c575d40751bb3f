/**
 * Paging's Prometheus metrics, on the instance's registry. Counters and histograms are updated
 * after commits (rate() copes with restarts); the gauges (open incidents, MTTA/MTTR over the last
 * 30 days, pending work) are computed from the Store at scrape time, so every instance reports
 * the same truth.
 */
import client from 'prom-client';

export class PagingMetrics {
  readonly incidentsOpened: client.Counter<'tenant' | 'service' | 'severity'>;
  readonly timeToAck: client.Histogram<'tenant' | 'service'>;
  readonly timeToResolve: client.Histogram<'tenant' | 'service'>;
  readonly pages: client.Counter<'tenant' | 'user'>;
  readonly unpaged: client.Counter<'tenant' | 'service' | 'reason'>;
  readonly notifications: client.Counter<'channel' | 'outcome'>;
  readonly deliverySeconds: client.Histogram<'channel'>;
  readonly alertsRouted: client.Counter<'tenant' | 'outcome'>;
  readonly openIncidents: client.Gauge<'tenant' | 'service' | 'severity'>;
  readonly mtta: client.Gauge<'tenant' | 'service'>;
  readonly mttr: client.Gauge<'tenant' | 'service'>;
  readonly pendingTimers: client.Gauge;
  readonly pendingJobs: client.Gauge;
  readonly outboxLag: client.Gauge;

  constructor(registry: client.Registry) {
    const registers = [registry];
    const buckets = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];
    this.incidentsOpened = new client.Counter({
      name: 'keel_incidents_opened_total',
      help: 'Incidents opened, by tenant, service and severity.',
      labelNames: ['tenant', 'service', 'severity'],
      registers,
    });
    this.timeToAck = new client.Histogram({
      name: 'keel_incident_time_to_acknowledge_seconds',
      help: 'Time from an incident opening to its first acknowledgement.',
      labelNames: ['tenant', 'service'],
      buckets,
      registers,
    });
    this.timeToResolve = new client.Histogram({
      name: 'keel_incident_time_to_resolve_seconds',
      help: 'Time from an incident opening to its resolution.',
      labelNames: ['tenant', 'service'],
      buckets,
      registers,
    });
    this.unpaged = new client.Counter({
      name: 'keel_incidents_unpaged_total',
      help: 'Incidents that paged nobody, by reason (no_policy, policy_missing, nobody_to_page, pages_failed).',
      labelNames: ['tenant', 'service', 'reason'],
      registers,
    });
    this.pages = new client.Counter({
      name: 'keel_pages_total',
      help: 'People paged by escalation steps (one per person per step), by tenant and user email.',
      labelNames: ['tenant', 'user'],
      registers,
    });
    this.notifications = new client.Counter({
      name: 'keel_notifications_total',
      help: 'Notification delivery attempts by channel and outcome (sent, retry, failed, canceled).',
      labelNames: ['channel', 'outcome'],
      registers,
    });
    this.deliverySeconds = new client.Histogram({
      name: 'keel_notification_delivery_seconds',
      help: 'Latency of notification delivery attempts, by channel.',
      labelNames: ['channel'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.alertsRouted = new client.Counter({
      name: 'keel_paging_alerts_total',
      help: 'Alert transitions processed by paging, by outcome (incident, attached, suppressed, recorded, unrouted, resolved, acknowledged).',
      labelNames: ['tenant', 'outcome'],
      registers,
    });
    this.openIncidents = new client.Gauge({
      name: 'keel_incidents_open',
      help: 'Incidents not yet resolved, by tenant, service and severity.',
      labelNames: ['tenant', 'service', 'severity'],
      registers,
    });
    this.mtta = new client.Gauge({
      name: 'keel_incident_mtta_seconds',
      help: 'Mean time to acknowledge over incidents opened in the last 30 days (service="" for the whole tenant).',
      labelNames: ['tenant', 'service'],
      registers,
    });
    this.mttr = new client.Gauge({
      name: 'keel_incident_mttr_seconds',
      help: 'Mean time to resolve over incidents opened in the last 30 days (service="" for the whole tenant).',
      labelNames: ['tenant', 'service'],
      registers,
    });
    this.pendingTimers = new client.Gauge({ name: 'keel_escalation_timers_pending', help: 'Escalation timers not yet fired.', registers });
    this.pendingJobs = new client.Gauge({ name: 'keel_notification_jobs_pending', help: 'Notification jobs waiting for delivery or retry.', registers });
    this.outboxLag = new client.Gauge({ name: 'keel_paging_outbox_lag', help: 'Alert transitions not yet processed by paging.', registers });
  }
}
