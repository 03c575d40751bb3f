/**
 * Runbooks as code (docs/runbooks-as-code.md), wired: the Runbook kind, the run service, the
 * leader-only executor, the HTTP routes. Uses the paging module's incidents and sealed secrets.
 */
import type { CoreContext, KeelModule } from '../module/context.js';
import { KeelError } from '../core/errors.js';
import { SYSTEM_TENANT } from '../auth/tenants.js';
import { definitionResource } from '../paging/definition-routes.js';
import type { PagingModule } from '../paging/module.js';
import { SloStatusService } from '../slo/status.js';
import { LinkGate } from '../paging/notify/link-gate.js';
import { approvalLinkRoutes } from './approval-link-routes.js';
import { ApprovalLinks } from './approval-links.js';
import { DailyQuotaService } from '../capacity/daily-quota-service.js';
import { recountSlo } from '../slo/sync.js';
import { CapacityService } from '../capacity/capacity-service.js';
import { RunExecutor, type LimitFigures, type SloFigures } from './executor.js';
import { KeelActions } from './keel-actions.js';
import { runbookKind } from './kind.js';
import { runbookRoutes } from './routes.js';
import { RunService } from './runs.js';
import { ToilService } from './toil.js';
import { noteOpenedIncident, TriggerService } from './trigger-service.js';
import { throttled } from '../core/throttled.js';
import { RunbookMetrics } from './waiting.js';

/**
 * At most one trigger pass per this many ms for a burst of alert transitions or opened incidents
 * (the first one wakes at once). At 25 ms a storm of ~1,000 alerts/s still paid two commits (the
 * alert outbox's position, the incident notes) per ~23 alerts, a fifth of the storm's commits; at
 * 200 ms they cover ~200 alerts. A storm's later runbook triggers wait up to this long.
 */
const TRIGGER_WAKE_MS = 200;

export interface RunbooksModule extends KeelModule {
  runs: RunService;
  executor: RunExecutor;
  toil: ToilService;
  triggers: TriggerService;
}

export function runbooksModule(ctx: CoreContext, paging: PagingModule, slos: { evaluateSlos(tenant: string): Promise<{ evaluated: number; transitions: number }> }): RunbooksModule {
  const { store, clock, config } = ctx;
  ctx.kinds.register(runbookKind());
  const status = new SloStatusService(store.db, clock);
  const budget = async (tenant: string, name: string) => (await status.status(tenant, name)).objectives[0]?.errorBudget.remainingPercent ?? undefined;
  // Approval steps ask their approvers through their contact methods (signed one-click links).
  const runs: RunService = new RunService({ store, clock, audit: ctx.audit, incidents: paging.incidents, budget, approvalRequested: (trx, run, step, fx) => approvals.requested(trx, run, step, fx) });
  const gate = new LinkGate({ db: store.db, clock, key: () => paging.notify.verificationKey() });
  const approvals = new ApprovalLinks({ db: store.db, runs, notify: paging.notify, people: ctx.people, gate, logger: ctx.logger });
  const toil = new ToilService(store);
  // Read only: the latest sample of each limit, for waits over a limit's utilisation.
  const capacity = new CapacityService(store, config);
  const triggers = new TriggerService({ store, clock, runs, audit: ctx.audit, alerts: ctx.alerts });
  const slo = async (tenant: string, name: string): Promise<SloFigures | undefined> => {
    const s = await status.status(tenant, name);
    const o = s.objectives[0];
    if (!o) return undefined;
    const shortest = [...o.burnRates].sort((a, b) => a.seconds - b.seconds)[0];
    return { burn_rate: shortest?.burnRate ?? null, budget_remaining: o.errorBudget.remainingPercent, compliance: o.sli };
  };
  // The daily volume quota (capacity), as PUT /v1/capacity/quotas/{tenant} sets it: stored, then
  // every ingest instance told (the others pick it up within 2 s).
  const dailyQuotas = new DailyQuotaService(store);
  const setDailyQuota = async (tenant: string, eventsPerDay: number | null) => {
    await dailyQuotas.set(tenant, eventsPerDay, clock.now());
    ctx.bus.emit('capacity.daily_quota_changed', { tenant });
  };
  const metrics = new RunbookMetrics(ctx.metrics.registry);
  ctx.metrics.onScrape('runbooks', () => metrics.scrape(store.db));
  const executor = new RunExecutor({
    runs,
    clock,
    logger: ctx.logger,
    keel: new KeelActions({ clock, incidents: paging.incidents, notify: paging.notify, oncall: paging.oncall, recountSlo }),
    evaluateSlos: slos.evaluateSlos,
    secret: async (tenant, name) => {
      const v = await paging.secretStore.open(tenant, name);
      if (v === undefined) throw new KeelError('not_found', `no secret named "${name}"`);
      return v;
    },
    setIngest: async (tenant, { eventsPerDay, ...patch }) => {
      await ctx.tenants.update(tenant, patch); // also refuses a tenant that does not exist
      if (eventsPerDay !== undefined) await setDailyQuota(tenant, eventsPerDay);
    },
    slo,
    limits: async (tenant, ids) => {
      const out: Record<string, LimitFigures> = {};
      for (const r of await capacity.latest(tenant === SYSTEM_TENANT ? {} : { tenant })) {
        if (ids.includes(r.id)) out[r.id] = { utilisation: r.capacity !== null && r.capacity > 0 ? r.usage / r.capacity : null, usage: r.usage, capacity: r.capacity };
      }
      return out;
    },
    silence: async (tenant, name, spec, actor) => {
      const doc = { apiVersion: 'keel/v1', kind: 'Silence', metadata: { name }, spec };
      await ctx.definitions.apply(tenant, [{ file: `${name}.json`, content: JSON.stringify(doc) }], actor);
    },
    systemTenant: SYSTEM_TENANT,
    commands: config.runbooks.commands,
    maxOutputBytes: config.runbooks.maxOutputBytes,
    defaultStepTimeoutMs: config.runbooks.defaultStepTimeout,
    pollIntervalMs: config.runbooks.pollInterval,
    concurrency: config.runbooks.concurrency,
    stepsRunOnOtherMachines: store.engine === 'postgres',
    triggers: async (fence) => {
      while ((await triggers.alertsStep(fence)) > 0) {
        // the whole backlog, a batch per transaction
      }
      while ((await triggers.incidentsStep(fence)) > 0) {
        // likewise
      }
      await triggers.schedulesStep(fence);
      await triggers.queuedStep(fence);
    },
  });
  const wakeForTriggers = throttled(() => executor.wake(), TRIGGER_WAKE_MS);
  // Every opened incident is noted in its own transaction, for the incident triggers: none is missed
  // across a crash, and the pass that starts its runs deletes the note in the same commit.
  paging.incidents.addHooks({
    opened: async (trx, incident, fx) => {
      await noteOpenedIncident(trx, incident);
      fx.add(wakeForTriggers);
    },
  });
  // A new alert transition wakes the executor at once (trigger-to-first-step latency), but a storm's
  // wake it once per TRIGGER_WAKE_MS: each pass reads both outboxes and commits its positions, and
  // would otherwise run per alert.
  const unsubscribe = ctx.bus.on('alert.transition', wakeForTriggers);
  runs.onChange = () => executor.wake();
  const routes = [
    ...runbookRoutes({ runs, toil, clock, wake: () => executor.wake() }),
    ...approvalLinkRoutes(approvals),
    ...definitionResource(ctx.definitions, { kind: 'Runbook', path: '/v1/runbooks', tag: 'runbooks', noun: 'runbook', read: 'runbooks:read', write: 'runbooks:manage' }),
  ];
  return {
    name: 'runbooks',
    runs,
    executor,
    toil,
    triggers,
    routes,
    start: async () => {
      if (ctx.roles.evaluator) ctx.whileLeader('runbooks', (lease) => executor.lead(lease));
    },
    stop: async () => {
      unsubscribe();
      wakeForTriggers.cancel();
      await executor.stop();
    },
  };
}
