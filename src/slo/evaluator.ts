/**
 * The burn-rate evaluator: every `slo.evaluationInterval` it measures each ready SLO, evaluates its
 * alert policies and, for every alert (objective × policy × severity) whose state changes, records
 * the transition with the values that caused it and signals the alert pipeline, all in one
 * transaction with the new state. State lives in the store, so a restart neither re-fires nor
 * forgets a firing alert; an SLO whose new generation is still backfilling keeps its alerts as
 * they are until the backfill is done.
 */
import type { Kysely, Transaction } from 'kysely';
import { firingDedupKeys } from '../alerting/alert-queries.js';
import type { AlertService, SignalResult } from '../alerting/alert-service.js';
import type { Clock } from '../core/clock.js';
import { readSpec } from '../definitions/read-specs.js';
import type { Database, DbFence } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { alertsOf, evaluatePolicy, eventsStopped, noDataWindow, type ConditionResult } from './alert-rules.js';
import { rankBreakdowns } from './breakdown-rank.js';
import { windowBreakdown } from './breakdown-window.js';
import { sumWindows } from './counter-reader.js';
import { OVERALL } from './counter-writer.js';
import { formatDuration } from './durations.js';
import { GenerationCache, type Generation } from './generations.js';
import { budget, sli } from './math.js';
import { alertWindows, measureGenerations, type ObjectiveMeasure } from './measure.js';
import type { SloMetrics } from './metrics.js';
import { sloWindowAt, windowEnd, type SloWindow } from './windows.js';

export function alertKey(objective: number, policy: string, severity: string): string {
  return `${objective}/${policy}/${severity}`;
}

/** An alert key's parts: its objective, its policy, and its severity (or `nodata`, a policy's no-data alert). */
export function alertKeyParts(key: string): { objective: number; policy: string; severity: string } {
  const first = key.indexOf('/');
  const last = key.lastIndexOf('/');
  return { objective: Number(key.slice(0, first)), policy: key.slice(first + 1, last), severity: key.slice(last + 1) };
}

/** The alert pipeline's dedup key: stable per SLO, policy and severity (and objective when there are several). */
export function dedupKey(slo: string, objectives: number, objective: number, policy: string, severity: string): string {
  return `slo/${slo}${objectives > 1 ? `#${objective}` : ''}/${policy}/${severity}`;
}

/**
 * The dedup key of a stored alert state: named by its alert key's last part, which is its
 * severity, or `nodata` for a policy's no-data alert (whose severity is the policy's page one).
 * Taking the severity instead gave a no-data alert the dedup key of the policy's page alert.
 */
export function dedupKeyOfState(slo: string, objectives: number, row: { objective: number | string; policy: string; alert_key: string }): string {
  return dedupKey(slo, objectives, Number(row.objective), row.policy, row.alert_key.slice(row.alert_key.lastIndexOf('/') + 1));
}

type StateRow = Database['slo_alert_state'];

/** SLOs whose alert states one evaluation transaction writes. */
const APPLY_GROUP = 100;

/** An SLO's evaluation, ready to be written: its desired alerts beside its stored states. */
interface Planned {
  tenant: string;
  name: string;
  /** Null for an SLO that no longer exists (its alerts resolve). */
  gen: Generation | null;
  desired: Desired[];
  rows: StateRow[];
  deleted?: boolean;
}

/** The alert name of a policy's no-data alert (beside its severities). */
export const NO_DATA = 'nodata';

interface Desired {
  key: string;
  /** The alert's name in its dedup key when it is not its severity (the no-data alert). */
  name?: string;
  summary?: string;
  /** The long window of its shortest active condition: where a page looks for the top breakdown values. */
  windowMs?: number;
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
  /** Parsed plans between ticks (re-read when the SLO configuration changes). */
  private readonly generations = new GenerationCache();
  /** Overall series ids by generation uid and objective, kept between ticks (`measureGenerations`). */
  private readonly series = new Map<string, Map<number, number>>();

  constructor(private readonly deps: EvaluatorDeps) {}

  /** Evaluates every tenant's SLOs, or one tenant's (`keel slo evaluate` acts on the caller's tenant only). */
  async evaluateAll(fence?: DbFence, tenant?: string): Promise<{ evaluated: number; transitions: number }> {
    // The fence travels with this call, never in a field: a concurrent unfenced call (`keel slo
    // evaluate`) must not strip the leader's fence off the transactions still to come.
    const now = this.deps.clock.now();
    const gens = await this.generations.current(this.deps.db, tenant);
    let stateQuery = this.deps.db.selectFrom('slo_alert_state').selectAll();
    if (tenant !== undefined) stateQuery = stateQuery.where('tenant_id', '=', tenant);
    const states = await stateQuery.execute();
    const bySlo = new Map<string, StateRow[]>();
    for (const s of states) {
      const rows = bySlo.get(`${s.tenant_id}/${s.slo_name}`) ?? [];
      rows.push(s);
      bySlo.set(`${s.tenant_id}/${s.slo_name}`, rows);
    }
    if (tenant === undefined) {
      const uids = new Set(gens.map((g) => g.uid));
      for (const uid of this.series.keys()) if (!uids.has(uid)) this.series.delete(uid);
    }
    let evaluated = 0;
    let transitions = 0;
    const live = new Set(gens.map((g) => `${g.tenant}/${g.name}`));
    // Measure each SLO (reads), then write the alert states of up to APPLY_GROUP SLOs in one
    // transaction: one durable commit per SLO per tick made 10,000 SLOs cost 10,000 commits a tick.
    let group: Planned[] = [];
    const flush = async () => {
      const r = await this.applyGroup(group, now, fence);
      evaluated += r.applied;
      transitions += r.transitions;
      group = [];
    };
    const ready = gens.filter((g) => g.status === 'ready');
    const planAt = (i: number) => (i < ready.length ? this.planGroup(ready.slice(i, i + APPLY_GROUP), bySlo, now) : undefined);
    // The next group is read while this one is written (on PostgreSQL on another connection), so a
    // tick waits for the slower of the reads and the writes rather than for both. `planGroup`
    // never rejects: an SLO that cannot be planned is logged and left out.
    let next = planAt(0);
    for (let i = 0; next; i += APPLY_GROUP) {
      group = await next;
      next = planAt(i + APPLY_GROUP);
      await flush();
    }
    // Alerts of SLOs that no longer exist resolve, then their state goes.
    for (const [key, rows] of bySlo) {
      if (live.has(key)) continue;
      group.push({ tenant: rows[0]!.tenant_id, name: rows[0]!.slo_name, gen: null, desired: [], rows, deleted: true });
      if (group.length >= APPLY_GROUP) await flush();
    }
    await flush();
    this.deps.metrics.evaluations.inc({ outcome: 'ok' });
    return { evaluated, transitions };
  }

  private failed(err: unknown, tenant: string, slo: string): void {
    this.deps.metrics.evaluations.inc({ outcome: 'error' });
    this.deps.logger.error({ err, tenant, slo }, 'slo evaluation failed');
  }

  /**
   * Writes a group's alert states in one transaction and publishes the transitions after it
   * commits. If the group's transaction fails, each SLO is written alone, so one SLO's failure
   * never holds back the others' alerts.
   */
  private async applyGroup(group: Planned[], now: number, fence: DbFence | undefined): Promise<{ applied: number; transitions: number }> {
    if (group.length === 0) return { applied: 0, transitions: 0 };
    let results: SignalResult[] = [];
    let applied = 0;
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await fence?.(trx);
        const states: StateRow[] = [];
        const open = await stillFiring(trx, group);
        for (const p of group) results.push(...(await this.applyIn(trx, p, now, states, open)));
        await writeStates(trx, states);
      });
      applied = group.filter((p) => !p.deleted).length;
    } catch (groupErr) {
      if (group.length === 1) {
        if (!group[0]!.deleted) this.failed(groupErr, group[0]!.tenant, group[0]!.name);
        else this.deps.logger.error({ err: groupErr, tenant: group[0]!.tenant, slo: group[0]!.name }, 'resolving the alerts of a deleted slo failed');
        return { applied: 0, transitions: 0 };
      }
      results = [];
      for (const p of group) {
        try {
          const own: SignalResult[] = [];
          await this.deps.db.transaction().execute(async (trx) => {
            await fence?.(trx);
            const states: StateRow[] = [];
            own.push(...(await this.applyIn(trx, p, now, states, await stillFiring(trx, [p]))));
            await writeStates(trx, states);
          });
          results.push(...own);
          if (!p.deleted) applied++;
        } catch (err) {
          if (!p.deleted) this.failed(err, p.tenant, p.name);
          else this.deps.logger.error({ err, tenant: p.tenant, slo: p.name }, 'resolving the alerts of a deleted slo failed');
        }
      }
    }
    let transitions = 0;
    for (const r of results) {
      this.deps.alerts.publish(r);
      if (r.transition) transitions++;
    }
    return { applied, transitions };
  }

  /**
   * Plans a group of SLOs: their counters are read together (`measureGenerations`: a few
   * statements for the group instead of a few per SLO). Should that read fail, each SLO is
   * measured alone, so one SLO's failure never holds back the others' alerts.
   */
  private async planGroup(gens: Generation[], bySlo: Map<string, StateRow[]>, now: number): Promise<Planned[]> {
    const reqs: { gen: Generation; sloWindow: SloWindow; end: number; windowsMs: number[] }[] = [];
    for (const gen of gens) {
      try {
        reqs.push({ gen, sloWindow: sloWindowAt(gen.slo.window, now), end: windowEnd(now), windowsMs: alertWindows(gen.slo) });
      } catch (err) {
        this.failed(err, gen.tenant, gen.name);
      }
    }
    const together = await measureGenerations(this.deps.db, reqs, this.series).catch(() => undefined);
    const planned: Planned[] = [];
    for (const [k, req] of reqs.entries()) {
      const { gen } = req;
      const rows = bySlo.get(`${gen.tenant}/${gen.name}`) ?? [];
      try {
        const measures = together?.[k] ?? (await measureGenerations(this.deps.db, [req], this.series))[0]!;
        planned.push({ tenant: gen.tenant, name: gen.name, gen, desired: await this.plan(gen, rows, measures, now), rows });
      } catch (err) {
        this.failed(err, gen.tenant, gen.name);
      }
    }
    return planned;
  }

  /** What an SLO's alerts should be now, from its measures (reads only). */
  private async plan(gen: Generation, rows: StateRow[], measures: ObjectiveMeasure[], now: number): Promise<Desired[]> {
    const slo = gen.slo;
    const prev = new Map(rows.map((r) => [r.alert_key, r]));
    const desired: Desired[] = [];
    for (const m of measures) {
      for (const policy of slo.policies) {
        const keys = [...new Set(policy.conditions.map((c) => c.severity))].map((sev) => alertKey(m.objective, policy.name, sev));
        const pending: Record<string, number> = {};
        for (const k of keys) Object.assign(pending, JSON.parse(prev.get(k)?.pending_json ?? '{}') as Record<string, number>);
        const results = evaluatePolicy(policy, m.target, (ms) => m.windows.get(ms), now, pending, this.deps.minBadEvents);
        for (const [severity, a] of alertsOf(results)) {
          const active = a.conditions.filter((c) => c.active).map((c) => policy.conditions.find((pc) => pc.name === c.name)?.longMs ?? Infinity);
          desired.push({
            key: alertKey(m.objective, policy.name, severity),
            ...(active.length && Number.isFinite(Math.min(...active)) ? { windowMs: Math.min(...active) } : {}),
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
        // No data is a signal: a paging policy also alerts when the SLO's events stop arriving.
        const watch = noDataWindow(policy);
        if (watch !== null) {
          const stopped = eventsStopped(m.windows.get(watch)?.events.total ?? 0, m.slo.events.total, prev.get(alertKey(m.objective, policy.name, NO_DATA))?.status === 'firing');
          const firing = stopped && !(await this.noDataOptedOut(gen.tenant, gen.name, policy.name));
          desired.push({
            key: alertKey(m.objective, policy.name, NO_DATA),
            name: NO_DATA,
            summary: `SLO ${slo.displayName ?? gen.name}: no events in the last ${formatDuration(watch)} (its events stopped arriving; policy ${policy.name})`,
            objective: m.objective,
            policy: policy.name,
            severity: 'page',
            firing,
            pending: {},
            values: { objective: m.objective, noData: true, window: formatDuration(watch), eventsInWindow: m.windows.get(watch)?.events.total ?? 0, eventsInSloWindow: m.slo.events.total },
            notify: { targets: policy.notificationTargets.map((t) => ({ name: t.name, target: t.target })), resolved: policy.alertWhenResolved },
          });
        }
      }
    }
    return desired;
  }

  /**
   * Opting out of the no-data alert: the policy says `alertWhenNoData: false` in so many words
   * (absent means the default, on). Read from the stored definitions only when events stopped.
   */
  private async noDataOptedOut(tenant: string, slo: string, policy: string): Promise<boolean> {
    type PolicyBody = { metadata?: { name?: string }; alertWhenNoData?: boolean };
    const spec = await readSpec<{ alertPolicies?: ({ ref: string } | { inline: PolicyBody })[] }>(this.deps.db, tenant, 'SLO', slo);
    for (const p of spec?.alertPolicies ?? []) {
      const named = 'ref' in p ? p.ref : p.inline.metadata?.name;
      if (named !== policy) continue;
      const body = 'ref' in p ? await readSpec<PolicyBody>(this.deps.db, tenant, 'AlertPolicy', p.ref) : p.inline;
      return body?.alertWhenNoData === false;
    }
    return false;
  }

  /** Writes one SLO's alert states and transitions inside `trx`; the signals to publish after commit. */
  private async applyIn(trx: Transaction<Database>, p: Planned, now: number, states: StateRow[], open: Set<string>): Promise<SignalResult[]> {
    const { tenant, name, gen, desired, rows } = p;
    const prev = new Map(rows.map((r) => [r.alert_key, r]));
    const results: SignalResult[] = [];
    const objectives = gen?.slo.objectives.length ?? 1;
    for (const d of desired) {
      const before = prev.get(d.key);
      const status = d.firing ? 'firing' : 'resolved';
      const key = dedupKey(name, objectives, d.objective, d.policy, d.name ?? d.severity);
      // Still firing here, but its alert was resolved elsewhere (with its incident, by hand): the
      // alert is still over its threshold, so it fires again (a new alert, incident and page).
      const refire = d.firing && before?.status === 'firing' && !open.has(`${tenant}/${key}`);
      const changed = (before ? before.status !== status : d.firing) || refire;
      if (changed) {
        // A page carries what the responder needs: the burn per window, the budget left, the runbook.
        const page = d.firing ? await pageDetails(trx, tenant, name, d.values) : undefined;
        if (page && gen && d.windowMs !== undefined) Object.assign(page, { top_breakdown: await topBreakdownOf(trx, gen, d.objective, windowEnd(now) - d.windowMs, windowEnd(now)) });
        const summary =
          d.name === NO_DATA
            ? d.firing
              ? d.summary!
              : `SLO ${gen!.slo.displayName ?? name}: events arrive again (policy ${d.policy})`
            : d.firing
              ? `SLO ${gen!.slo.displayName ?? name} is burning its error budget (${d.severity}, policy ${d.policy})`
              : `SLO ${gen!.slo.displayName ?? name} is no longer burning its error budget (policy ${d.policy})`;
        results.push(
          await this.deps.alerts.signalIn(trx, {
            tenant,
            dedupKey: key,
            source: 'slo',
            status,
            severity: d.severity,
            summary,
            service: gen!.slo.service,
            labels: {
              slo: name,
              policy: d.policy,
              severity: d.severity,
              service: gen!.slo.service,
              objective: gen!.slo.objectives[d.objective]?.name ?? String(d.objective),
              ...(d.name ? { alertname: d.name } : {}),
            },
            details: { notificationTargets: d.notify.targets, notifyWhenResolved: d.notify.resolved, ...(page ? { page } : {}) },
            ...(page?.runbook_url ? { links: [{ href: page.runbook_url, text: 'Runbook' }] } : {}),
            at: now,
            values: d.values,
          }),
        );
        await trx
          .insertInto('slo_alert_history')
          .values({ tenant_id: tenant, slo_name: name, alert_key: d.key, status, at: now, values_json: JSON.stringify(d.values) })
          .execute();
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
      states.push(row);
    }
    const keep = new Set(desired.map((d) => d.key));
    for (const r of rows) {
      if (keep.has(r.alert_key)) continue;
      if (r.status === 'firing') {
        const values = { reason: gen ? 'the alert policy no longer has this alert' : 'the SLO was deleted' };
        results.push(
          await this.deps.alerts.signalIn(trx, {
            tenant,
            dedupKey: dedupKeyOfState(name, objectives, r),
            source: 'slo',
            status: 'resolved',
            severity: r.severity,
            summary: `SLO ${name}: alert withdrawn (${values.reason})`,
            at: now,
            values,
          }),
        );
        await trx
          .insertInto('slo_alert_history')
          .values({ tenant_id: tenant, slo_name: name, alert_key: r.alert_key, status: 'resolved', at: now, values_json: JSON.stringify(values) })
          .execute();
      }
      await trx.deleteFrom('slo_alert_state').where('tenant_id', '=', tenant).where('slo_name', '=', name).where('alert_key', '=', r.alert_key).execute();
    }
    return results;
  }
}

/** Alert states written by one multi-row upsert (each row has 11 values; well below both stores' parameter limits). */
const STATES_PER_STATEMENT = 500;

/**
 * Writes a group's alert states: one upsert per 500 rows instead of one per alert key (about three
 * per SLO), since at 10,000 SLOs each statement is a round trip to PostgreSQL on every tick.
 */
async function writeStates(trx: Transaction<Database>, states: StateRow[]): Promise<void> {
  for (let i = 0; i < states.length; i += STATES_PER_STATEMENT) {
    await trx
      .insertInto('slo_alert_state')
      .values(states.slice(i, i + STATES_PER_STATEMENT))
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'slo_name', 'alert_key']).doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          since: eb.ref('excluded.since'),
          pending_json: eb.ref('excluded.pending_json'),
          values_json: eb.ref('excluded.values_json'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}

/** The SLO annotation whose value is a page's runbook link (as Prometheus alerting rules name it). */
export const RUNBOOK_ANNOTATION = 'runbook_url';

async function pageDetails(trx: Transaction<Database>, tenant: string, name: string, values: Record<string, unknown>) {
  const conditions = (values.conditions ?? []) as { longWindow: string; shortWindow: string; burnRateLong: number; burnRateShort: number }[];
  const rates = new Map<string, number>();
  for (const c of conditions) {
    rates.set(c.longWindow, c.burnRateLong);
    rates.set(c.shortWindow, c.burnRateShort);
  }
  const spec = await readSpec<{ metadata?: { annotations?: Record<string, string> } }>(trx, tenant, 'SLO', name);
  const runbook = spec?.metadata?.annotations?.[RUNBOOK_ANNOTATION];
  return {
    slo: name,
    burn_rates: [...rates].map(([window, burnRate]) => ({ window, burn_rate: burnRate })),
    budget_remaining: typeof values.budgetRemaining === 'number' ? values.budgetRemaining : null,
    ...(runbook && /^https?:\/\//i.test(runbook) ? { runbook_url: runbook } : {}),
  };
}

/**
 * The breakdown values that explain the bad events of the alert's window, ranked as `keel slo
 * status` ranks them (breakdown-rank.ts: bad ratio against the SLO's, with volume to matter).
 */
async function topBreakdownOf(trx: Transaction<Database>, gen: Generation, objective: number, from: number, to: number) {
  if (gen.slo.breakdown.length === 0) return [];
  const series = await trx.selectFrom('slo_series').select(['id', 'breakdown']).where('gen_uid', '=', gen.uid).where('objective', '=', objective).execute();
  const overallRow = series.find((r) => r.breakdown === OVERALL);
  if (!overallRow) return [];
  const overall = (await sumWindows(trx, [Number(overallRow.id)], [{ from, to }]))[0]![0]!;
  const names = gen.slo.breakdown.map((p) => p.join('.'));
  const { candidates } = await windowBreakdown(
    trx,
    names,
    series.filter((r) => r.breakdown !== OVERALL),
    { from, to },
  );
  return rankBreakdowns({ bad: overall.total - overall.good, total: overall.total }, candidates, 3).map((t) => ({ values: t.values, bad_events: t.bad, total_events: t.total }));
}

/**
 * The alerts (as `tenant/dedup key`) of a group's SLOs that still fire in the alert pipeline, of
 * those the evaluator keeps firing: one query per tenant of the group instead of one per alert.
 */
async function stillFiring(trx: Transaction<Database>, group: Planned[]): Promise<Set<string>> {
  const byTenant = new Map<string, string[]>();
  for (const p of group) {
    const prev = new Map(p.rows.map((r) => [r.alert_key, r]));
    const objectives = p.gen?.slo.objectives.length ?? 1;
    for (const d of p.desired) {
      if (!d.firing || prev.get(d.key)?.status !== 'firing') continue;
      const keys = byTenant.get(p.tenant) ?? [];
      keys.push(dedupKey(p.name, objectives, d.objective, d.policy, d.name ?? d.severity));
      byTenant.set(p.tenant, keys);
    }
  }
  const out = new Set<string>();
  for (const [tenant, keys] of byTenant) for (const k of await firingDedupKeys(trx, tenant, keys)) out.add(`${tenant}/${k}`);
  return out;
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
