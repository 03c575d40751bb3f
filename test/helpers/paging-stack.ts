/**
 * The paging services (alerts → routing → incidents → escalation → notifications) wired on a
 * store of a test's own, without an HTTP server: for tests that drive escalation timers with a
 * fake clock, on either engine. Definitions are applied as YAML for the tenant `acme`.
 */
import { randomBytes } from 'node:crypto';
import { AlertService } from '../../src/alerting/alert-service.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { Bus } from '../../src/core/bus.js';
import type { Clock } from '../../src/core/clock.js';
import { AesGcmSecretBox } from '../../src/core/secrets.js';
import { channelKind } from '../../src/paging/notify/channel-kind.js';
import { DefinitionsService } from '../../src/definitions/definitions-service.js';
import { KindRegistry } from '../../src/definitions/kinds.js';
import { EscalationService, type EscalationDeps } from '../../src/paging/escalation/escalation-service.js';
import { policyKind } from '../../src/paging/escalation/policy-kind.js';
import { AfterCommit } from '../../src/core/after-commit.js';
import { IncidentService } from '../../src/paging/incidents/incident-service.js';
import { PagingMetrics } from '../../src/paging/incidents/prometheus.js';
import { NotifyService } from '../../src/paging/notify/notify-service.js';
import { SecretStore } from '../../src/paging/notify/secret-store.js';
import { SmtpSettingsStore } from '../../src/paging/notify/smtp-settings.js';
import { userKind } from '../../src/paging/notify/user-kind.js';
import { OncallService } from '../../src/paging/oncall/oncall-service.js';
import { scheduleKind } from '../../src/paging/oncall/schedule-kind.js';
import { PeopleService } from '../../src/people/people-service.js';
import { PagingConsumer } from '../../src/paging/routing/paging-consumer.js';
import { serviceKind } from '../../src/services/service-kind.js';
import type { Store } from '../../src/store/store.js';
import { createLogger, type Logger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';

export interface PagingStack {
  definitions: DefinitionsService;
  alerts: AlertService;
  incidents: IncidentService;
  escalation: EscalationService;
  consumer: PagingConsumer;
  notify: NotifyService;
  stop(): Promise<void>;
}

/**
 * `deliver`: also run the notification worker (webhooks are sent); without it, jobs stay pending
 * for the test to read. `logger`: to see what the services log (default silent). `escalation`:
 * changes the escalation service's dependencies (its poll interval, no bus, other metrics).
 * `run: false`: neither the paging consumer nor the escalation scheduler is started (a test
 * driving time with fake timers starts the scheduler itself and has no other loop's timers).
 */
export async function startPagingStack(
  store: Store,
  clock: Clock,
  yaml: string,
  options: { deliver?: boolean; logger?: Logger; escalation?: (deps: EscalationDeps) => EscalationDeps; run?: boolean } = {},
): Promise<PagingStack> {
  const bus = new Bus();
  const logger = options.logger ?? createLogger('silent');
  const box = new AesGcmSecretBox([randomBytes(32)]);
  const metrics = new PagingMetrics(new KeelMetrics().registry);
  const kinds = new KindRegistry();
  const people = new PeopleService(store, clock);
  kinds.register(serviceKind());
  kinds.register(userKind(people, new AuditLog(store, clock)));
  kinds.register(channelKind());
  kinds.register(scheduleKind());
  kinds.register(policyKind());
  const definitions = new DefinitionsService(store, kinds, clock, bus);
  const alerts = new AlertService(store, clock, bus);
  const incidents = new IncidentService(store, clock, bus, metrics);
  const notify = new NotifyService({
    store,
    clock,
    bus,
    logger,
    metrics,
    secrets: new SecretStore(store, box, clock),
    smtp: new SmtpSettingsStore(store, box, clock),
    box,
    newAfterCommit: () => new AfterCommit(),
    config: { publicUrl: 'http://keel.example', linkTtlMs: 3_600_000, maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20, timeoutMs: 1000, concurrency: 4, pollIntervalMs: 20 },
  });
  const deps: EscalationDeps = { store, clock, logger, incidents, notify, oncall: new OncallService(store, clock), pollIntervalMs: 20, newAfterCommit: () => new AfterCommit(), bus };
  const escalation = new EscalationService(options.escalation ? options.escalation(deps) : deps);
  const consumer = new PagingConsumer({ store, clock, bus, logger, alerts, incidents, metrics, pollIntervalMs: 20, newAfterCommit: () => new AfterCommit() });
  await definitions.apply('acme', [{ file: 'paging.yaml', content: yaml }], 'test');
  if (options.run !== false) {
    consumer.run();
    escalation.run();
  }
  if (options.deliver) notify.run();
  return {
    definitions,
    alerts,
    incidents,
    escalation,
    consumer,
    notify,
    stop: async () => {
      await consumer.stop();
      await escalation.stop();
      await notify.stop();
    },
  };
}
