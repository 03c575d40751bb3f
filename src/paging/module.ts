/**
 * The paging and incidents area, wired: each part (incidents/, notify/, oncall/, escalation/,
 * routing/, integrations/) builds its own services in its `build.ts`; this file builds them in
 * dependency order and registers what they return (definition kinds and their REST resources,
 * routes, sealed columns, leader-only loops), with the area's Prometheus scrape.
 */
import { AfterCommit } from '../core/after-commit.js';
import { fenceOf, type CoreContext, type KeelModule, type LeaderLease } from '../module/context.js';
import { buildEscalation } from './escalation/build.js';
import type { EscalationService } from './escalation/escalation-service.js';
import { escalationProgress } from './escalation/escalation-queries.js';
import { buildIncidents } from './incidents/build.js';
import type { IncidentService } from './incidents/incident-service.js';
import type { PostmortemService } from './incidents/postmortem-service.js';
import { PagingMetrics } from './incidents/prometheus.js';
import type { SloImpactProvider } from './incidents/slo-impact.js';
import { buildIntegrations } from './integrations/build.js';
import type { HeartbeatService } from './integrations/heartbeats.js';
import type { IntegrationKeys } from './integrations/keys.js';
import { buildNotify } from './notify/build.js';
import type { NotifyService } from './notify/notify-service.js';
import { pagesBetween } from './notify/page-history.js';
import type { SecretStore } from './notify/secret-store.js';
import type { SmtpSettingsStore } from './notify/smtp-settings.js';
import { buildOncall } from './oncall/build.js';
import type { OncallService } from './oncall/oncall-service.js';
import type { PagingBase } from './part.js';
import { buildRouting } from './routing/build.js';
import type { PagingConsumer } from './routing/paging-consumer.js';
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
  const { store, clock, config } = ctx;
  const cfg = config.paging;
  const base: PagingBase = {
    ctx,
    metrics: new PagingMetrics(ctx.metrics.registry),
    publicUrl: () => (cfg.publicUrl ?? `http://${config.server.host}:${config.server.port}`).replace(/\/+$/, ''),
    newAfterCommit: () => new AfterCommit(),
  };

  // Each part after the parts it uses.
  const incidents = buildIncidents(base, { elsewhere: { escalationProgress, pagesBetween }, sloImpact: sloImpactProvider(store.db) });
  const notify = buildNotify(base, { incidents: incidents.incidents });
  const oncall = buildOncall(base);
  const escalation = buildEscalation(base, { incidents: incidents.incidents, notify: notify.notify, oncall: oncall.oncall });
  const routing = buildRouting(base, { incidents: incidents.incidents });
  const integrations = buildIntegrations(base);
  const parts = [incidents, notify, oncall, escalation, routing, integrations];

  for (const p of parts) for (const c of p.sealed ?? []) ctx.sealed.register(c);
  for (const p of parts) for (const k of p.kinds ?? []) ctx.kinds.register(k);
  const routes = [...parts.flatMap((p) => p.routes ?? []), ...parts.flatMap((p) => p.resources ?? []).flatMap((r) => definitionResource(ctx.definitions, r))];
  const leaderLoops = parts.flatMap((p) => p.loops ?? []);

  ctx.metrics.onScrape('paging', () => scrapePagingGauges(store.db, clock, base.metrics));

  // The leader loops run while this process leads 'paging' (the embedded default always does, its
  // lease aborting when Keel stops; the distributed mode's aborts when the leadership moves).
  let moduleStopped = false;
  let release: (() => void) | undefined;
  const stopped = new Promise<void>((r) => (release = r));
  let loops: Promise<void> | undefined;
  // Stopped in reverse: the parts that make work (alerts, timers) before those that carry it out.
  const stopLoops = async () => {
    for (const l of [...leaderLoops].reverse()) await l.stop();
  };
  const lead = async (lease: LeaderLease): Promise<void> => {
    if (moduleStopped) return;
    // The previous tenure's loops stop first: a new tenure can begin (a lease taken back one poll
    // after it was lost) while they are still finishing, and their stop() would then stop these.
    await loops?.catch(() => undefined);
    if (moduleStopped || lease.signal.aborted) return;
    const fence = fenceOf(lease);
    for (const l of leaderLoops) l.run(fence);
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
    incidents: incidents.incidents,
    postmortems: incidents.postmortems,
    notify: notify.notify,
    secretStore: notify.secretStore,
    smtp: notify.smtp,
    oncall: oncall.oncall,
    escalation: escalation.escalation,
    consumer: routing.consumer,
    heartbeats: integrations.heartbeats,
    integrationKeys: integrations.integrationKeys,
    registerSloImpactProvider: (p) => incidents.postmortems.registerSloImpactProvider(p),
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
