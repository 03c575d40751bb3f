/**
 * The burn-rate evaluator: every `slo.evaluationInterval` it measures each ready SLO, evaluates its
 * alert policies and, for every alert (objective × policy × severity) whose state changes, records
 * the transition with the values that caused it and signals the alert pipeline, all in one
 * transaction with the new state. State lives in the store, so a restart neither re-fires nor
 * forgets a firing alert; an SLO whose new generation is still backfilling keeps its alerts as
 * they are until the backfill is done.
 */
import type { Kysely, Transaction } from 'kysely';
import type { AlertService, SignalResult } from '../alerting/alert-service.js';
import type { Clock } from '../core/clock.js';
import type { Database } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { alertsOf, evaluatePolicy, type ConditionResult } from './alert-rules.js';
import { currentGenerations, type Generation } from './generations.js';
import { budget, sli } from './math.js';
import { alertWindows, measureGeneration } from './measure.js';
import type { SloMetrics } from './metrics.js';
import { sloWindowAt, windowEnd } from './windows.js';

export function alertKey(objective: number, policy: string, severity: string): string {
  return `${objective}/${policy}/${severity}`;
}

/** The alert pipeline's dedup key: stable per SLO, policy and severity (and objective when there are several). */
export function dedupKey(slo: string, objectives: number, objective: number, policy: string, severity: string): string {
  return `slo/${slo}${objectives > 1 ? `#${objective}` : ''}/${policy}/${severity}`;
}

type StateRow = Database['slo_alert_state'];

interface Desired {
  key: string;
  objective: number;
  policy: string;
  severity: string;
  firing: boolean;
  pending: Record<string, number>;
  values: Record<string, unknown>;
  notify: { targets: { name: string; target: string }[]; resolved: boolean };
}

export interface EvaluatorDeps {
  db: Kysely<Database>;
  alerts: AlertService;
  clock: Clock;
  logger: Logger;
  metrics: SloMetrics;
  minBadEvents: number;
}

export class SloEvaluator {
  constructor(private readonly deps: EvaluatorDeps) {}

  /** Checked inside every state transaction: the leader's lease (a deposed leader writes nothing). */
  private fence: ((trx: Transaction<Database>) => Promise<void>) | undefined;

  /** Evaluates every tenant's SLOs, or one tenant's (`keel slo evaluate` acts on the caller's tenant only). */
  async evaluateAll(fence?: (trx: Transaction<Database>) => Promise<void>, tenant?: string): Promise<{ evaluated: number; transitions: number }> {
    this.fence = fence;
    const now = this.deps.clock.now();
    const gens = await currentGenerations(this.deps.db, tenant);
    let stateQuery = this.deps.db.selectFrom('slo_alert_state').selectAll();
    if (tenant !== undefined) stateQuery = stateQuery.where('tenant_id', '=', tenant);
    const states = await stateQuery.execute();
    const bySlo = new Map<string, StateRow[]>();
    for (const s of states) bySlo.set(`${s.tenant_id}/${s.slo_name}`, [...(bySlo.get(`${s.tenant_id}/${s.slo_name}`) ?? []), s]);
    let evaluated = 0;
    let transitions = 0;
    const live = new Set(gens.map((g) => `${g.tenant}/${g.name}`));
    for (const gen of gens) {
      if (gen.status !== 'ready') continue;
      try {
        transitions += await this.evaluate(gen, bySlo.get(`${gen.tenant}/${gen.name}`) ?? [], now);
        evaluated++;
      } catch (err) {
        this.deps.metrics.evaluations.inc({ outcome: 'error' });
        this.deps.logger.error({ err, tenant: gen.tenant, slo: gen.name }, 'slo evaluation failed');
      }
    }
    // Alerts of SLOs that no longer exist resolve, then their state goes.
    for (const [key, rows] of bySlo) {
      if (live.has(key)) continue;
      transitions += await this.apply(rows[0]!.tenant_id, rows[0]!.slo_name, null, [], rows, now);
    }
    this.deps.metrics.evaluations.inc({ outcome: 'ok' });
    return { evaluated, transitions };
  }

  private async evaluate(gen: Generation, rows: StateRow[], now: number): Promise<number> {
    const slo = gen.slo;
    const measures = await measureGeneration(this.deps.db, gen, sloWindowAt(slo.window, now), windowEnd(now), alertWindows(slo));
    const prev = new Map(rows.map((r) => [r.alert_key, r]));
    const desired: Desired[] = [];
    for (const m of measures) {
      for (const policy of slo.policies) {
        const keys = [...new Set(policy.conditions.map((c) => c.severity))].map((sev) => alertKey(m.objective, policy.name, sev));
        const pending: Record<string, number> = {};
        for (const k of keys) Object.assign(pending, JSON.parse(prev.get(k)?.pending_json ?? '{}') as Record<string, number>);
        const results = evaluatePolicy(policy, m.target, (ms) => m.windows.get(ms), now, pending, this.deps.minBadEvents);
        for (const [severity, a] of alertsOf(results)) {
          desired.push({
            key: alertKey(m.objective, policy.name, severity),
            objective: m.objective,
            policy: policy.name,
            severity,
            firing: a.firing,
            pending: Object.fromEntries(a.conditions.filter((c) => c.pendingSince !== null).map((c) => [c.name, c.pendingSince!])),
            values: {
              objective: m.objective,
              target: m.target,
              sli: sli(m.slo.units),
              budgetRemaining: budget(m.slo.units, m.target).remainingRatio,
              conditions: a.conditions.map(conditionValues),
            },
            notify: { targets: policy.notificationTargets.map((t) => ({ name: t.name, target: t.target })), resolved: policy.alertWhenResolved },
          });
        }
      }
    }
    return this.apply(gen.tenant, gen.name, gen, desired, rows, now);
  }

  private async apply(tenant: string, name: string, gen: Generation | null, desired: Desired[], rows: StateRow[], now: number): Promise<number> {
    const prev = new Map(rows.map((r) => [r.alert_key, r]));
    const results: SignalResult[] = [];
    const objectives = gen?.slo.objectives.length ?? 1;
    await this.deps.db.transaction().execute(async (trx) => {
      await this.fence?.(trx);
      for (const d of desired) {
        const before = prev.get(d.key);
        const status = d.firing ? 'firing' : 'resolved';
        const changed = before ? before.status !== status : d.firing;
        if (changed) {
          const summary = d.firing
            ? `SLO ${gen!.slo.displayName ?? name} is burning its error budget (${d.severity}, policy ${d.policy})`
            : `SLO ${gen!.slo.displayName ?? name} is no longer burning its error budget (policy ${d.policy})`;
          results.push(
            await this.deps.alerts.signalIn(trx, {
              tenant,
              dedupKey: dedupKey(name, objectives, d.objective, d.policy, d.severity),
              source: 'slo',
              status,
              severity: d.severity,
              summary,
              service: gen!.slo.service,
              labels: { slo: name, policy: d.policy, severity: d.severity, service: gen!.slo.service, objective: gen!.slo.objectives[d.objective]?.name ?? String(d.objective) },
              details: { notificationTargets: d.notify.targets, notifyWhenResolved: d.notify.resolved },
              at: now,
              values: d.values,
            }),
          );
          await trx.insertInto('slo_alert_history').values({ tenant_id: tenant, slo_name: name, alert_key: d.key, status, at: now, values_json: JSON.stringify(d.values) }).execute();
        }
        const row = {
          tenant_id: tenant,
          slo_name: name,
          alert_key: d.key,
          objective: d.objective,
          policy: d.policy,
          severity: d.severity,
          status,
          since: changed || !before ? now : Number(before.since),
          pending_json: JSON.stringify(d.pending),
          values_json: JSON.stringify(d.values),
          updated_at: now,
        };
        await trx
          .insertInto('slo_alert_state')
          .values(row)
          .onConflict((oc) =>
            oc.columns(['tenant_id', 'slo_name', 'alert_key']).doUpdateSet({ status: row.status, since: row.since, pending_json: row.pending_json, values_json: row.values_json, updated_at: now }),
          )
          .execute();
      }
      const keep = new Set(desired.map((d) => d.key));
      for (const r of rows) {
        if (keep.has(r.alert_key)) continue;
        if (r.status === 'firing') {
          const values = { reason: gen ? 'the alert policy no longer has this alert' : 'the SLO was deleted' };
          results.push(
            await this.deps.alerts.signalIn(trx, {
              tenant,
              dedupKey: dedupKey(name, objectives, Number(r.objective), r.policy, r.severity),
              source: 'slo',
              status: 'resolved',
              severity: r.severity,
              summary: `SLO ${name}: alert withdrawn (${values.reason})`,
              at: now,
              values,
            }),
          );
          await trx.insertInto('slo_alert_history').values({ tenant_id: tenant, slo_name: name, alert_key: r.alert_key, status: 'resolved', at: now, values_json: JSON.stringify(values) }).execute();
        }
        await trx.deleteFrom('slo_alert_state').where('tenant_id', '=', tenant).where('slo_name', '=', name).where('alert_key', '=', r.alert_key).execute();
      }
    });
    let transitions = 0;
    for (const r of results) {
      this.deps.alerts.publish(r);
      if (r.transition) transitions++;
    }
    return transitions;
  }
}

function conditionValues(c: ConditionResult): Record<string, unknown> {
  return {
    name: c.name,
    op: c.op,
    threshold: c.threshold,
    minBadEvents: c.minBadEvents,
    longWindow: c.long.window,
    shortWindow: c.short.window,
    burnRateLong: c.long.burnRate,
    burnRateShort: c.short.burnRate,
    badEventsLong: c.long.badEvents,
    badEventsShort: c.short.badEvents,
    totalEventsLong: c.long.totalEvents,
    totalEventsShort: c.short.totalEvents,
    breaching: c.breaching,
    noData: c.noData,
    holds: c.holds,
    active: c.active,
    pendingSince: c.pendingSince === null ? null : new Date(c.pendingSince).toISOString(),
  };
}
