/**
 * Paging's consumer of the alert outbox (`alert_transitions`). A leader-only loop reads the
 * transitions after its committed position and, in ONE transaction per transition, routes the
 * alert to a service, checks silences and maintenance windows, groups it into the service's open
 * incident or opens one (which starts escalation: timers and, through them, notification jobs),
 * records the decision, and advances the position (a small group of transitions shares one
 * transaction). A crash therefore never loses a transition's effects and never applies them twice.
 */
import type { Transaction } from 'kysely';
import { alertRow as readAlertRow, lastTransitionSeq } from '../../alerting/alert-queries.js';
import type { AlertService, AlertTransition } from '../../alerting/alert-service.js';
import type { Bus } from '../../core/bus.js';
import type { Clock } from '../../core/clock.js';
import { readSpec, readSpecs, type NamedSpec } from '../../definitions/read-specs.js';
import type { AfterCommit } from '../../core/after-commit.js';
import { OPEN_STATES, toIncident, type IncidentService } from '../incidents/incident-service.js';
import type { PagingMetrics } from '../incidents/prometheus.js';
import { appendTimeline } from '../incidents/timeline.js';
import { readPosition, writePosition } from '../../processing/positions.js';
import type { Database, Db, DbFence } from '../../store/schema.js';
import { prepared } from '../../store/prepared.js';
import type { Store } from '../../store/store.js';
import type { Logger } from '../../telemetry/logger.js';
import { groupingKey, matchLabels } from './grouping.js';
import { compileRoutes, routeAlert, type RouteSpec } from './router.js';
import { DEFAULT_PAGE_SEVERITIES, type ServicePaging } from './service-paging.js';
import { suppressedBy, type MaintenanceWindowSpec, type SilenceSpec } from './suppression.js';
import { BackgroundLoop, type Tenure } from '../../core/background-loop.js';

export const PAGING_CONSUMER = 'paging';

/** Transitions appended to the outbox that paging has not processed yet (the outbox-lag gauge). */
export async function pagingOutboxLag(db: Db): Promise<number> {
  const last = await lastTransitionSeq(db);
  const position = await readPosition(db, PAGING_CONSUMER);
  return Math.max(0, last - position);
}

/** Transitions per transaction. */
const GROUP = 20;

export interface ConsumerDeps {
  store: Store;
  clock: Clock;
  bus: Bus;
  logger: Logger;
  alerts: AlertService;
  incidents: IncidentService;
  metrics: PagingMetrics;
  pollIntervalMs: number;
  newAfterCommit(): AfterCommit;
}

type Outcome = 'incident' | 'attached' | 'suppressed' | 'recorded' | 'unrouted' | 'resolved' | 'acknowledged' | 'ignored';

/** A group of transitions whose transaction failed: the round ends, and the next reads again from the committed position. */
class GroupFailed extends Error {
  constructor(
    readonly from: number,
    readonly err: unknown,
  ) {
    super(`paging transitions from ${from} failed`);
  }
}

export class PagingConsumer {
  /** The consumer: one tenure per leadership, fenced by that tenure's fence. */
  private readonly loop: BackgroundLoop<DbFence | undefined>;
  private unsubscribe: (() => void) | undefined;
  private position = 0;

  constructor(private readonly deps: ConsumerDeps) {
    this.loop = new BackgroundLoop(
      (tenure) => this.round(tenure),
      (err, failures) => {
        if (err instanceof GroupFailed) deps.logger.error({ err: err.err, from: err.from }, 'paging transitions failed; retrying from the committed position');
        else deps.logger.error({ err }, 'reading alert transitions failed');
        return Math.min(5000, 100 * 2 ** (failures - 1));
      },
    );
    deps.incidents.addHooks({
      stateChanged: (trx, incident, _from, actor, fx) => (incident.state === 'resolved' ? this.resolveAlertsOf(trx, incident.id, actor, fx) : Promise.resolve()),
    });
  }

  /**
   * Resolving an incident resolves its alerts that still fire (as PagerDuty does): otherwise a
   * source that keeps firing (an Alertmanager re-send, an Events v2 trigger, an SLO still over its
   * threshold) would count into an alert of a closed case and page nobody ever again.
   */
  private async resolveAlertsOf(trx: Transaction<Database>, incidentId: string, actor: string, fx: AfterCommit): Promise<void> {
    const attached = await trx.selectFrom('incident_alerts').select('alert_id').where('incident_id', '=', incidentId).execute();
    const results = await this.deps.alerts.resolveIn(
      trx,
      attached.map((a) => a.alert_id),
      this.deps.clock.now(),
      { reason: 'incident resolved', by: actor },
    );
    for (const r of results) fx.add(() => this.deps.alerts.publish(r));
  }

  wake(): void {
    this.loop.wake();
  }

  /** Runs the consumer (leader only) until stop(); its transactions check `fence` first. */
  run(fence?: DbFence): void {
    this.unsubscribe = this.deps.bus.on('alert.transition', () => this.wake());
    void this.loop.run(fence);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.loop.stop();
  }

  /** Position committed so far (the seq of the last transition processed). */
  committed(): number {
    return this.position;
  }

  /** Resolves once every transition appended before the call has been processed. */
  async drain(timeoutMs = 30_000): Promise<void> {
    const target = await lastTransitionSeq(this.deps.store.db);
    const deadline = Date.now() + timeoutMs;
    while (this.position < target) {
      if (Date.now() > deadline) throw new Error(`paging did not catch up within ${timeoutMs} ms`);
      this.wake();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * One round: the next transitions after the committed position (read again at a tenure's
   * start: another process may have led meanwhile), processed in groups; returns how long to wait.
   */
  private async round(tenure: Tenure<DbFence | undefined>): Promise<number> {
    const { store, logger, alerts, clock } = this.deps;
    const fence = tenure.context;
    if (tenure.rounds === 0) this.position = await readPosition(store.db, PAGING_CONSUMER);
    const batch = await alerts.transitionsAfter(this.position, 100);
    if (batch.length === 0) return this.deps.pollIntervalMs;
    // Small groups of transitions share one transaction (and one fsync): the effects of each
    // and the position after the last commit together, so a crash still loses or repeats none.
    for (let i = 0; i < batch.length && !tenure.over; i += GROUP) {
      const group = batch.slice(i, i + GROUP);
      const fx = this.deps.newAfterCommit();
      try {
        const outcomes: { tenant: string; outcome: Outcome }[] = [];
        await store.db.transaction().execute(async (trx) => {
          await fence?.(trx);
          // Definitions read once per group: the same within one transaction, and a storm of
          // alerts would otherwise read the tenant's Routes, Silences and windows per alert.
          this.specs = new Map();
          for (const t of group) outcomes.push({ tenant: t.tenant, outcome: await this.process(trx, t, fx) });
          // The group's incidents are open and their alerts attached: their first pages go now.
          await this.deps.incidents.settle(trx, fx);
          await writePosition(trx, PAGING_CONSUMER, 0, group[group.length - 1]!.seq, clock.now());
        });
        this.position = group[group.length - 1]!.seq;
        for (const o of outcomes) this.deps.metrics.alertsRouted.inc(o);
        fx.run((err) => logger.error({ err }, 'after-commit effect failed'));
        // SQLite resolves synchronously: a backlog must not starve HTTP and timers.
        await new Promise((r) => setImmediate(r));
      } catch (err) {
        throw new GroupFailed(group[0]!.seq, err);
      }
    }
    return 0;
  }

  private specs = new Map<string, Promise<unknown>>();

  private cachedSpecs<T>(trx: Transaction<Database>, tenant: string, kind: string): Promise<NamedSpec<T>[]> {
    const key = `${tenant}\u0000${kind}`;
    if (!this.specs.has(key)) this.specs.set(key, readSpecs<T>(trx, tenant, kind));
    return this.specs.get(key) as Promise<NamedSpec<T>[]>;
  }

  private cachedSpec<T>(trx: Transaction<Database>, tenant: string, kind: string, name: string): Promise<T | undefined> {
    const key = `${tenant}\u0000${kind}\u0000${name}`;
    if (!this.specs.has(key)) this.specs.set(key, readSpec<T>(trx, tenant, kind, name));
    return this.specs.get(key) as Promise<T | undefined>;
  }

  private async process(trx: Transaction<Database>, t: AlertTransition, fx: AfterCommit): Promise<Outcome> {
    const alertRow = await readAlertRow(trx, t.alertId);
    if (!alertRow) return 'ignored';
    const alert = {
      id: alertRow.id,
      tenant: alertRow.tenant_id,
      source: alertRow.source,
      severity: alertRow.severity,
      summary: alertRow.summary,
      dedupKey: alertRow.dedup_key,
      service: alertRow.service,
      labels: JSON.parse(alertRow.labels_json) as Record<string, string>,
      details: JSON.parse(alertRow.details_json) as Record<string, unknown>,
    };
    if (t.status === 'firing') return this.firing(trx, t, alert, fx);
    const state = await trx.selectFrom('paging_alerts').select('incident_id').where('alert_id', '=', alert.id).executeTakeFirst();
    if (!state?.incident_id) return 'ignored';
    const row = await trx.selectFrom('incidents').selectAll().where('id', '=', state.incident_id).executeTakeFirst();
    if (!row) return 'ignored';
    const incident = toIncident(row);
    const actor = `integration:${alert.source}`;
    if (t.status === 'acknowledged') {
      if (incident.state !== 'triggered') return 'ignored';
      await this.deps.incidents.transition(trx, incident, 'acknowledged', actor, fx, `alert ${alert.summary} acknowledged at its source`);
      return 'acknowledged';
    }
    // resolved
    await appendTimeline(trx, incident, {
      at: t.at,
      actor,
      type: 'alert',
      message: `Alert resolved${t.values.reason === 'incident resolved' ? ' with the incident' : ''}: ${alert.summary}`,
      data: { alert_id: alert.id, dedup_key: alert.dedupKey, status: 'resolved', ...(typeof t.values.by === 'string' ? { by: t.values.by } : {}) },
    });
    if (!OPEN_STATES.includes(incident.state)) return 'resolved';
    const service = incident.service ? await this.cachedSpec<ServicePaging>(trx, incident.tenant, 'Service', incident.service) : undefined;
    if (service?.autoResolve === false) return 'resolved';
    const stillFiring = await trx
      .selectFrom('incident_alerts')
      .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
      .select('alerts.id')
      .where('incident_alerts.incident_id', '=', incident.id)
      .where('alerts.status', '=', 'firing')
      .limit(1)
      .executeTakeFirst();
    if (!stillFiring) await this.deps.incidents.transition(trx, incident, 'resolved', actor, fx, 'all its alerts resolved');
    return 'resolved';
  }

  private async firing(
    trx: Transaction<Database>,
    t: AlertTransition,
    alert: {
      id: string;
      tenant: string;
      source: string;
      severity: string;
      summary: string;
      dedupKey: string;
      service: string | null;
      labels: Record<string, string>;
      details: Record<string, unknown>;
    },
    fx: AfterCommit,
  ): Promise<Outcome> {
    const tenant = alert.tenant;
    const routes = compileRoutes(await this.cachedSpecs<RouteSpec>(trx, tenant, 'Route'));
    const decision = routeAlert({ service: alert.service, labels: matchLabels(alert, null) }, routes);
    const record = (values: { service: string | null; incident: string | null; suppressed: string | null; grouping: string | null }) =>
      recordAlert.run(trx, {
        alert: alert.id,
        tenant,
        service: values.service,
        route: decision.route,
        incident: values.incident,
        suppressed: values.suppressed,
        grouping: values.grouping,
        at: this.deps.clock.now(),
      });
    const serviceName = decision.service;
    const service = serviceName ? await this.cachedSpec<ServicePaging>(trx, tenant, 'Service', serviceName) : undefined;
    if (!serviceName || !service) {
      await record({ service: serviceName, incident: null, suppressed: null, grouping: null });
      return 'unrouted';
    }
    const labels = matchLabels(alert, serviceName);
    const silences = await this.cachedSpecs<SilenceSpec>(trx, tenant, 'Silence');
    const windows = await this.cachedSpecs<MaintenanceWindowSpec>(trx, tenant, 'MaintenanceWindow');
    const suppressed = suppressedBy({ labels, service: serviceName, at: t.at }, silences, windows);
    const grouping = groupingKey(serviceName, service.alertGrouping?.by ?? [], labels);
    const open = await this.deps.incidents.openFor(trx, tenant, serviceName, grouping);
    if (open) {
      await this.deps.incidents.attachAlert(trx, open, alert, t.at, fx, suppressed);
      await record({ service: serviceName, incident: open.id, suppressed, grouping });
      return 'attached';
    }
    if (suppressed) {
      await record({ service: serviceName, incident: null, suppressed, grouping });
      return 'suppressed';
    }
    const pageSeverities = service.pageSeverities ?? DEFAULT_PAGE_SEVERITIES;
    if (!pageSeverities.includes(alert.severity)) {
      await record({ service: serviceName, incident: null, suppressed: null, grouping });
      return 'recorded';
    }
    const description = typeof alert.details.description === 'string' ? alert.details.description : '';
    const incident = await this.deps.incidents.open(
      trx,
      {
        tenant,
        title: alert.summary.slice(0, 300) || `Alert ${alert.dedupKey}`,
        summary: description.slice(0, 5000),
        service: serviceName,
        severity: service.incidentSeverity ?? 'SEV2',
        groupingKey: grouping,
        escalationPolicy: service.escalationPolicy ?? null,
        createdBy: `integration:${alert.source}`,
      },
      fx,
    );
    await this.deps.incidents.attachAlert(trx, incident, alert, t.at, fx);
    await record({ service: serviceName, incident: incident.id, suppressed: null, grouping });
    return 'incident';
  }
}

// The statements of every alert of a storm, compiled once (store/prepared.ts).
/** What paging did with an alert, once: a transition read again after a crash records nothing new. */
const recordAlert = prepared(
  (db, p: { alert: string; tenant: string; service: string | null; route: string | null; incident: string | null; suppressed: string | null; grouping: string | null; at: number }) =>
    db
      .insertInto('paging_alerts')
      .values({
        alert_id: p.alert,
        tenant_id: p.tenant,
        service: p.service,
        route: p.route,
        incident_id: p.incident,
        suppressed_by: p.suppressed,
        grouping_key: p.grouping,
        processed_at: p.at,
      })
      .onConflict((oc) => oc.column('alert_id').doNothing()),
);
