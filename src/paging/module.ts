/**
 * The paging and incidents domain, wired: definition kinds (User, Channel, Schedule,
 * EscalationPolicy, Route, Silence, MaintenanceWindow, Heartbeat), services, HTTP routes,
 * Prometheus metrics, and the leader-only loops (outbox consumer, escalation scheduler,
 * notification delivery, heartbeat checker). Composition only; the logic lives in routing/,
 * incidents/, escalation/, notify/, oncall/ and integrations/.
 */
import { fenceOf, type CoreContext, type KeelModule, type LeaderLease } from '../module/context.js';
import { AfterCommit } from '../core/after-commit.js';
import { ActionItems } from './incidents/action-items.js';
import { IncidentService } from './incidents/incident-service.js';
import { PostmortemService } from './incidents/postmortem-service.js';
import { PagingMetrics } from './incidents/prometheus.js';
import { IncidentQueries } from './incidents/incident-queries.js';
import { incidentRoutes } from './incidents/routes.js';
import type { SloImpactProvider } from './incidents/slo-impact.js';
import { EscalationService } from './escalation/escalation-service.js';
import { escalationProgress } from './escalation/escalation-queries.js';
import { policyKind } from './escalation/policy-kind.js';
import { HeartbeatService, heartbeatKind } from './integrations/heartbeats.js';
import { IntegrationKeys } from './integrations/keys.js';
import { IntegrationIntake } from './integrations/intake.js';
import { integrationRoutes } from './integrations/routes.js';
import { channelKind } from './notify/channel-kind.js';
import { NotifyService } from './notify/notify-service.js';
import { pagesBetween } from './notify/page-history.js';
import { LinkGate } from './notify/link-gate.js';
import { NotifyQueries } from './notify/notify-queries.js';
import { notifyRoutes } from './notify/routes.js';
import { SecretStore } from './notify/secret-store.js';
import { SmtpSettingsStore } from './notify/smtp-settings.js';
import { userKind } from './notify/user-kind.js';
import { OncallService } from './oncall/oncall-service.js';
import { IcalFeeds } from './oncall/ical-feeds.js';
import { oncallRoutes } from './oncall/routes.js';
import { scheduleKind } from './oncall/schedule-kind.js';
import { maintenanceWindowKind, routeKind, silenceKind } from './routing/kinds.js';
import { PagingConsumer } from './routing/paging-consumer.js';
import { routingRoutes } from './routing/routes.js';
import { RoutingQueries } from './routing/routing-queries.js';
import { definitionResource } from './definition-routes.js';
import { scrapePagingGauges } from './scrape.js';
import { sloImpactProvider } from './slo-impact.js';

export interface PagingModule extends KeelModule {
  incidents: IncidentService;
  consumer: PagingConsumer;
  escalation: EscalationService;
  notify: NotifyService;
  oncall: OncallService;
  heartbeats: HeartbeatService;
  postmortems: PostmortemService;
  integrationKeys: IntegrationKeys;
  secretStore: SecretStore;
  smtp: SmtpSettingsStore;
  /** Where postmortems get the error budget each SLO lost (the SLO engine's is registered here). */
  registerSloImpactProvider(p: SloImpactProvider): void;
}

export function pagingModule(ctx: CoreContext): PagingModule {
  const { store, clock, bus, logger, config } = ctx;
  const cfg = config.paging;
  const metrics = new PagingMetrics(ctx.metrics.registry);
  const publicUrl = () => (cfg.publicUrl ?? `http://${config.server.host}:${config.server.port}`).replace(/\/+$/, '');
  const newAfterCommit = () => new AfterCommit();

  // Every sealed secret paging stores, so key rotation re-encrypts them and reports can list them.
  ctx.sealed.register({ table: 'paging_secrets', key: ['tenant_id', 'name'], column: 'sealed', description: 'paging secrets (webhook signing secrets, Slack webhook URLs)' });
  ctx.sealed.register({ table: 'paging_settings', key: ['tenant_id', 'key'], column: 'sealed', description: 'SMTP passwords and the notification link-signing key' });
  ctx.sealed.register({ table: 'integration_keys', key: ['id'], column: 'sealed', description: 'integration keys (Alertmanager, Events v2, heartbeats)' });

  ctx.kinds.register(userKind(ctx.people, ctx.audit));
  ctx.kinds.register(channelKind());
  ctx.kinds.register(scheduleKind());
  ctx.kinds.register(policyKind());
  ctx.kinds.register(routeKind());
  ctx.kinds.register(silenceKind());
  ctx.kinds.register(maintenanceWindowKind());
  ctx.kinds.register(heartbeatKind({ clock, alerts: ctx.alerts }));

  const secretStore = new SecretStore(store, ctx.secrets, clock);
  const smtp = new SmtpSettingsStore(store, ctx.secrets, clock);
  const integrationKeys = new IntegrationKeys(store, ctx.secrets, clock);
  const incidents = new IncidentService(store, clock, bus, metrics);
  const actions = new ActionItems(clock);
  const postmortems = new PostmortemService(store, clock, logger, incidents, actions);
  postmortems.registerSloImpactProvider(sloImpactProvider(store.db));
  const oncall = new OncallService(store, clock);
  const notify = new NotifyService({
    store,
    clock,
    bus,
    logger,
    metrics,
    secrets: secretStore,
    smtp,
    box: ctx.secrets,
    newAfterCommit,
    config: {
      get publicUrl() {
        return publicUrl();
      },
      linkTtlMs: cfg.linkTtl,
      maxAttempts: cfg.delivery.maxAttempts,
      initialBackoffMs: cfg.delivery.initialBackoff,
      maxBackoffMs: cfg.delivery.maxBackoff,
      timeoutMs: cfg.delivery.timeout,
      concurrency: cfg.delivery.concurrency,
      pollIntervalMs: cfg.pollInterval,
    },
  });
  incidents.addHooks({ stateChanged: (trx, incident, _from, actor, fx) => notify.incidentStateChanged(trx, incident, actor, fx) });
  const escalation = new EscalationService({ store, clock, logger, incidents, notify, oncall, pollIntervalMs: cfg.pollInterval, newAfterCommit, unpagedFallback: cfg.unpagedFallback, metrics, bus });
  const consumer = new PagingConsumer({ store, clock, bus, logger, alerts: ctx.alerts, incidents, metrics, pollIntervalMs: cfg.pollInterval, newAfterCommit });
  const heartbeats = new HeartbeatService({ store, clock, alerts: ctx.alerts, logger, pollIntervalMs: cfg.pollInterval });

  const d = ctx.definitions;
  const routes = [
    ...incidentRoutes({ clock, incidents, actions, postmortems, queries: new IncidentQueries(store, incidents, actions, { escalationProgress, pagesBetween }) }),
    ...notifyRoutes({
      queries: new NotifyQueries(store, incidents),
      gate: new LinkGate({ db: store.db, clock, key: () => notify.verificationKey() }),
      clock,
      incidents,
      notify,
      secrets: secretStore,
      smtp,
    }),
    ...oncallRoutes({ clock, oncall, feeds: new IcalFeeds(store, clock), keys: ctx.keys, publicUrl }),
    ...integrationRoutes({ intake: new IntegrationIntake(store, ctx.alerts), logger, alerts: ctx.alerts, keys: integrationKeys, heartbeats, publicUrl }),
    ...routingRoutes({ queries: new RoutingQueries(store), clock }),
    ...definitionResource(d, { kind: 'Schedule', path: '/v1/schedules', tag: 'oncall', noun: 'schedule', read: 'oncall:read', write: 'paging:write' }),
    ...definitionResource(d, { kind: 'EscalationPolicy', path: '/v1/escalation-policies', tag: 'paging', noun: 'escalation policy', read: 'paging:read', write: 'paging:write' }),
    ...definitionResource(d, { kind: 'Route', path: '/v1/alert-routes', tag: 'paging', noun: 'alert route', read: 'paging:read', write: 'paging:write' }),
    ...definitionResource(d, { kind: 'Silence', path: '/v1/silences', tag: 'paging', noun: 'silence', read: 'paging:read', write: 'paging:write', generatedNamePrefix: 'silence' }),
    ...definitionResource(d, {
      kind: 'MaintenanceWindow',
      path: '/v1/maintenance-windows',
      tag: 'paging',
      noun: 'maintenance window',
      read: 'paging:read',
      write: 'paging:write',
      generatedNamePrefix: 'maintenance',
    }),
    ...definitionResource(d, { kind: 'Heartbeat', path: '/v1/heartbeats', tag: 'integrations', noun: 'heartbeat', read: 'paging:read', write: 'paging:write', noList: true }),
    ...definitionResource(d, { kind: 'User', path: '/v1/paging/users', tag: 'paging', noun: 'user', read: 'paging:read', write: 'paging:write' }),
    ...definitionResource(d, { kind: 'Channel', path: '/v1/channels', tag: 'paging', noun: 'channel', read: 'paging:read', write: 'paging:write' }),
  ];

  ctx.metrics.onScrape('paging', () => scrapePagingGauges(store.db, clock, metrics));

  // The leader loops run while this process leads 'paging' (the embedded default always does, its
  // lease aborting when Keel stops; the distributed mode's aborts when the leadership moves).
  let moduleStopped = false;
  let release: (() => void) | undefined;
  const stopped = new Promise<void>((r) => (release = r));
  let loops: Promise<void> | undefined;
  const stopLoops = async () => {
    await consumer.stop();
    await heartbeats.stop();
    await escalation.stop();
    await notify.stop();
  };
  const lead = async (lease: LeaderLease): Promise<void> => {
    if (moduleStopped) return;
    // The previous tenure's loops stop first: a new tenure can begin (a lease taken back one poll
    // after it was lost) while they are still finishing, and their stop() would then stop these.
    await loops?.catch(() => undefined);
    if (moduleStopped || lease.signal.aborted) return;
    const fence = fenceOf(lease);
    consumer.run(fence);
    escalation.run(fence);
    notify.run(fence);
    heartbeats.run(fence);
    const done = new Promise<void>((resolve) => {
      void stopped.then(resolve);
      lease.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    loops = done.then(stopLoops);
    await loops;
  };

  return {
    name: 'paging',
    routes,
    incidents,
    consumer,
    escalation,
    notify,
    oncall,
    heartbeats,
    postmortems,
    integrationKeys,
    secretStore,
    smtp,
    registerSloImpactProvider: (p) => postmortems.registerSloImpactProvider(p),
    start: async () => {
      ctx.whileLeader('paging', lead);
    },
    stop: async () => {
      moduleStopped = true;
      release?.();
      await loops;
    },
  };
}
