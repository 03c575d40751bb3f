/**
 * Automatic starts of runs: alert matchers (read from the alert outbox, `alert_transitions`, from
 * this consumer's position) and cron schedules. Each start is committed in the same transaction as
 * the position or the schedule's last fire time, so no alert or scheduled time starts a run twice,
 * even across a crash. Skipped starts (cooldown, a run already active for the key, the circuit
 * breaker, a guard) are audited; an open breaker pages a person through an alert instead.
 */
import type { Transaction } from 'kysely';
import type { AlertService, SignalResult } from '../alerting/alert-service.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../core/clock.js';
import { isKeelError } from '../core/errors.js';
import { readSpecs } from '../definitions/read-specs.js';
import { lockPosition, readPosition, writePosition } from '../processing/positions.js';
import { prepared } from '../store/prepared.js';
import type { Database, DbFence } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { RunbookDefinition } from './kind.js';
import type { ParamValue } from './params.js';
import { incidentContext, type AlertContext, type RunService } from './runs.js';
import { dueFire, lastFireAt } from './schedule.js';
import { durationMs } from './spec.js';
import { render, TemplateError } from './templates.js';
import { decideTrigger, matchesAlert, matchesIncident, type IncidentFacts } from './triggers.js';

export const RUNBOOK_ALERTS_CONSUMER = 'runbooks-alerts';
const BATCH = 100;

export class TriggerService {
  constructor(private readonly deps: { store: Store; clock: Clock; runs: RunService; audit: AuditLog; alerts: AlertService }) {}

  /** Guard refusals of every guarded runbook, read before a trigger transaction opens (see RunService.guardProblem). */
  private async guards(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const rows = await this.deps.store.db.selectFrom('definitions').select(['tenant_id', 'name', 'spec_json']).where('kind', '=', 'Runbook').execute();
    for (const r of rows) {
      const spec = JSON.parse(r.spec_json) as RunbookDefinition;
      const why = await this.deps.runs.guardProblem(r.tenant_id, r.name, spec);
      if (why) out.set(`${r.tenant_id}/${r.name}`, why);
    }
    return out;
  }

  /** Handles the next batch of alert transitions; returns how many it read. */
  async alertsStep(fence?: DbFence): Promise<number> {
    const published: SignalResult[] = [];
    const pending = await this.deps.store.db
      .selectFrom('alert_transitions')
      .select('seq')
      .where('seq', '>', await readPosition(this.deps.store.db, RUNBOOK_ALERTS_CONSUMER))
      .limit(1)
      .executeTakeFirst();
    if (!pending) return 0;
    const guards = await this.guards();
    const n = await this.deps.runs.inTransaction(async (trx) => {
      if (fence) await fence(trx);
      const now = this.deps.clock.now();
      const pos = await lockPosition(trx, RUNBOOK_ALERTS_CONSUMER, 0, now);
      const rows = await trx.selectFrom('alert_transitions').selectAll().where('seq', '>', pos).orderBy('seq').limit(BATCH).execute();
      if (rows.length === 0) return 0;
      const books = new Map<string, RunbookDefinition[]>();
      for (const t of rows) {
        if (t.status !== 'firing') continue;
        if (!books.has(t.tenant_id)) books.set(t.tenant_id, await this.books(trx, t.tenant_id));
        // A tenant without alert-triggered runbooks: its alerts are not read (a storm's alerts each cost a read).
        if (!books.get(t.tenant_id)!.some((b) => b.triggers?.alerts.length)) continue;
        const a = await trx.selectFrom('alerts').selectAll().where('id', '=', t.alert_id).executeTakeFirst();
        // Runbooks' own alerts (an open circuit breaker) never start runbooks: no loops.
        if (!a || a.source === 'runbooks') continue;
        const alert: AlertContext & { service: string | null } = {
          labels: JSON.parse(a.labels_json) as Record<string, string>,
          summary: a.summary,
          severity: a.severity,
          source: a.source,
          dedup_key: a.dedup_key,
          status: 'firing',
          service: a.service,
        };
        for (const book of books.get(t.tenant_id)!) {
          const matcher = book.triggers?.alerts.find((m) => matchesAlert(m, alert));
          if (!matcher) continue;
          const rendered = await this.rendered(trx, t.tenant_id, book, matcher.params, { alert }, { alert });
          if (!rendered) continue;
          const { params, key } = rendered;
          const guarded = guards.get(`${t.tenant_id}/${book.metadata.name}`);
          if (guarded) {
            await this.skipped(trx, t.tenant_id, book.metadata.name, 'guard', guarded, { alert });
            continue;
          }
          const started = await this.maybeStart(trx, t.tenant_id, book, key, now, { params, alert, actor: `alert:${alert.source}/${alert.dedup_key}`, trigger: 'alert' }, published);
          if (started) break;
        }
      }
      await writePosition(trx, RUNBOOK_ALERTS_CONSUMER, 0, Number(rows[rows.length - 1]!.seq), now);
      return rows.length;
    });
    for (const r of published) this.deps.alerts.publish(r);
    return n;
  }

  /**
   * Matches the incidents opened since the last pass (rows the incidents' own transactions wrote)
   * against runbooks' incident triggers; the runs start and the rows go in one transaction.
   * Returns how many incidents it read.
   */
  async incidentsStep(fence?: DbFence): Promise<number> {
    const pending = await this.deps.store.db.selectFrom('runbook_incident_triggers').select('incident_id').limit(1).executeTakeFirst();
    if (!pending) return 0;
    const guards = await this.guards();
    const published: SignalResult[] = [];
    const n = await this.deps.runs.inTransaction(async (trx) => {
      if (fence) await fence(trx);
      const now = this.deps.clock.now();
      const rows = await trx.selectFrom('runbook_incident_triggers').selectAll().orderBy('opened_at').orderBy('incident_id').limit(BATCH).execute();
      const books = new Map<string, RunbookDefinition[]>();
      for (const row of rows) {
        if (!books.has(row.tenant_id)) books.set(row.tenant_id, await this.books(trx, row.tenant_id));
        // A tenant without incident-triggered runbooks: its incidents are not read (a storm's incidents each cost two reads).
        if (!books.get(row.tenant_id)!.some((b) => b.triggers?.incidents.length)) continue;
        const incident = await this.incidentFacts(trx, row.tenant_id, row.incident_id);
        for (const book of incident ? books.get(row.tenant_id)! : []) {
          const matcher = book.triggers?.incidents.find((m) => matchesIncident(m, incident!));
          if (!matcher) continue;
          const start = { incident: incident!, actor: `incident:${incident!.number}`, trigger: 'incident' as const };
          const rendered = await this.rendered(trx, row.tenant_id, book, matcher.params, { incident: incident! }, start);
          if (!rendered) continue;
          const guarded = guards.get(`${row.tenant_id}/${book.metadata.name}`);
          if (guarded) {
            await this.skipped(trx, row.tenant_id, book.metadata.name, 'guard', guarded, start);
            continue;
          }
          await this.maybeStart(trx, row.tenant_id, book, rendered.key, now, { ...start, params: rendered.params }, published);
        }
      }
      if (rows.length)
        await trx
          .deleteFrom('runbook_incident_triggers')
          .where(
            'incident_id',
            'in',
            rows.map((r) => r.incident_id),
          )
          .execute();
      return rows.length;
    });
    for (const r of published) this.deps.alerts.publish(r);
    return n;
  }

  /** Starts queued runs whose concurrency key has no active run (normally done when the run ahead ends). */
  async queuedStep(fence?: DbFence): Promise<number> {
    let started = 0;
    for (const q of await this.deps.runs.freeQueuedKeys()) {
      const run = await this.deps.runs.inTransaction(async (trx, fx) => {
        if (fence) await fence(trx);
        return this.deps.runs.dequeue(trx, q.tenant, q.runbook, q.key, fx);
      });
      if (run) started += 1;
    }
    return started;
  }

  private async books(trx: Transaction<Database>, tenant: string): Promise<RunbookDefinition[]> {
    return (await readSpecs<RunbookDefinition>(trx, tenant, 'Runbook')).map((d) => ({ ...d.spec, metadata: { ...d.spec.metadata, name: d.name } }));
  }

  /** A matched trigger's params and concurrency key, rendered; a template without a value is an audited skip. */
  private async rendered(
    trx: Transaction<Database>,
    tenant: string,
    book: RunbookDefinition,
    params: Record<string, string>,
    values: Record<string, unknown>,
    cause: { alert?: AlertContext; incident?: IncidentFacts },
  ): Promise<{ params: Record<string, ParamValue>; key: string } | undefined> {
    try {
      return {
        params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, render(v, values, () => '')])),
        key: book.triggers!.concurrencyKey ? render(book.triggers!.concurrencyKey, values, () => '') : book.metadata.name,
      };
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      await this.skipped(trx, tenant, book.metadata.name, 'template', e.message, cause);
      return undefined;
    }
  }

  /** The incident's fields and the labels of its alerts (the first attached alert's win). */
  private async incidentFacts(trx: Transaction<Database>, tenant: string, id: string): Promise<IncidentFacts | undefined> {
    const i = await trx.selectFrom('incidents').select(['id', 'number', 'title', 'severity', 'service', 'state']).where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (!i) return undefined;
    const alerts = await trx
      .selectFrom('incident_alerts')
      .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
      .select('alerts.labels_json')
      .where('incident_alerts.incident_id', '=', id)
      .orderBy('incident_alerts.attached_at', 'desc')
      .execute();
    const labels: Record<string, string> = {};
    for (const a of alerts) Object.assign(labels, JSON.parse(a.labels_json) as Record<string, string>);
    return { ...incidentContext({ ...i, number: Number(i.number) }), labels };
  }

  /** Fires the schedules that are due; returns how many runs it started. */
  async schedulesStep(fence?: DbFence): Promise<number> {
    const now = this.deps.clock.now();
    const rows = await this.deps.store.db.selectFrom('definitions').select(['tenant_id', 'name', 'spec_json']).where('kind', '=', 'Runbook').execute();
    let started = 0;
    for (const row of rows) {
      const book = JSON.parse(row.spec_json) as RunbookDefinition;
      const schedule = book.triggers?.schedule;
      if (!schedule) continue;
      const state = await this.deps.store.db.selectFrom('runbook_schedules').select(['last_fire_at', 'cron']).where('tenant_id', '=', row.tenant_id).where('runbook', '=', row.name).executeTakeFirst();
      const scheduleId = `${schedule.cron} ${schedule.timeZone}`;
      if (!state || state.cron !== scheduleId) {
        // New (or changed) schedule: it starts from now, not from times before it existed.
        const last = lastFireAt(schedule.cron, schedule.timeZone, now);
        await this.deps.store.db
          .insertInto('runbook_schedules')
          .values({ tenant_id: row.tenant_id, runbook: row.name, cron: scheduleId, last_fire_at: last })
          .onConflict((oc) => oc.columns(['tenant_id', 'runbook']).doUpdateSet({ cron: scheduleId, last_fire_at: last }))
          .execute();
        continue;
      }
      const last = Number(state.last_fire_at);
      const fire = dueFire(schedule.cron, schedule.timeZone, last, now);
      if (fire === undefined) continue;
      const guarded = await this.deps.runs.guardProblem(row.tenant_id, row.name, book);
      const published: SignalResult[] = [];
      const ok = await this.deps.runs.inTransaction(async (trx) => {
        if (fence) await fence(trx);
        const r = await trx
          .updateTable('runbook_schedules')
          .set({ last_fire_at: fire })
          .where('tenant_id', '=', row.tenant_id)
          .where('runbook', '=', row.name)
          .where('last_fire_at', '=', last)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return false;
        if (guarded) {
          await this.skipped(trx, row.tenant_id, row.name, 'guard', guarded, undefined, fire);
          return false;
        }
        return this.maybeStart(
          trx,
          row.tenant_id,
          { ...book, metadata: { ...book.metadata, name: row.name } },
          row.name,
          now,
          { params: schedule.params, actor: 'schedule', trigger: 'schedule', at: fire },
          published,
        );
      });
      for (const p of published) this.deps.alerts.publish(p);
      if (ok) started += 1;
    }
    return started;
  }

  private async maybeStart(
    trx: Transaction<Database>,
    tenant: string,
    book: RunbookDefinition,
    key: string,
    now: number,
    start: { params: Record<string, ParamValue>; alert?: AlertContext; incident?: IncidentFacts; actor: string; trigger: 'alert' | 'incident' | 'schedule'; at?: number },
    published: SignalResult[],
  ): Promise<boolean> {
    const name = book.metadata.name;
    const triggers = book.triggers;
    const base = trx.selectFrom('runbook_runs').where('tenant_id', '=', tenant).where('runbook', '=', name);
    const active = await base
      .select((eb) => eb.fn.countAll().as('n'))
      .where('concurrency_key', '=', key)
      .where('status', 'in', ['queued', 'running', 'waiting'])
      .executeTakeFirst();
    const last = await base
      .select((eb) => eb.fn.max('created_at').as('t'))
      .where('concurrency_key', '=', key)
      .where('trigger', '!=', 'manual')
      .executeTakeFirst();
    const hour = await base
      .select((eb) => eb.fn.countAll().as('n'))
      .where('trigger', '!=', 'manual')
      .where('created_at', '>', now - 3_600_000)
      .executeTakeFirst();
    const decision = decideTrigger({
      activeForKey: Number(active?.n ?? 0),
      lastRunForKey: last?.t === null || last?.t === undefined ? null : Number(last.t),
      automaticRunsLastHour: Number(hour?.n ?? 0),
      cooldownMs: triggers ? durationMs(triggers.cooldown) : 0,
      maxRunsPerHour: triggers?.maxRunsPerHour ?? 6,
      now,
      queue: triggers?.concurrencyPolicy === 'queue',
    });
    if (decision !== 'run' && decision !== 'queue') {
      await this.skipped(trx, tenant, name, decision, decisionText(decision, triggers?.maxRunsPerHour ?? 6), start, start.at);
      if (decision === 'breaker') {
        published.push(
          await this.deps.alerts.signalIn(trx, {
            tenant,
            dedupKey: `runbook-breaker/${name}`,
            source: 'runbooks',
            status: 'firing',
            severity: 'page',
            summary: `Runbook ${name} ran ${triggers?.maxRunsPerHour ?? 6} times automatically in the last hour; its circuit breaker stopped it: a person must look`,
            labels: { runbook: name, reason: 'circuit-breaker' },
          }),
        );
      }
      return false;
    }
    try {
      const queued = decision === 'queue';
      await this.deps.runs.start(
        {
          tenant,
          runbook: name,
          params: start.params,
          actor: start.actor,
          trigger: start.trigger,
          concurrencyKey: key,
          queued,
          ...(start.alert ? { alert: start.alert } : {}),
          ...(start.incident ? { incident: start.incident.id } : {}),
        },
        trx,
      );
      return true;
    } catch (e) {
      if (!isKeelError(e)) throw e;
      await this.skipped(trx, tenant, name, 'refused', e.message, start, start.at);
      return false;
    }
  }

  private async skipped(
    trx: Transaction<Database>,
    tenant: string,
    runbook: string,
    reason: string,
    message: string,
    cause?: { alert?: AlertContext; incident?: IncidentFacts },
    at?: number,
  ): Promise<void> {
    await this.deps.audit.recordIn(trx, {
      actor: 'system',
      action: 'runbooks.trigger.skipped',
      tenant,
      target: `runbook/${runbook}`,
      after: {
        reason,
        message,
        ...(cause?.alert ? { alert: cause.alert.dedup_key } : {}),
        ...(cause?.incident ? { incident: cause.incident.number } : {}),
        ...(at !== undefined ? { scheduled_at: new Date(at).toISOString() } : {}),
      },
    });
  }
}

function decisionText(d: string, max: number): string {
  if (d === 'concurrent') return 'a run for the same concurrency key is still active';
  if (d === 'cooldown') return 'within the cooldown since the last automatic run for the same key';
  return `circuit breaker: ${max} automatic runs in the last hour; a person is paged instead`;
}

// Written in the transaction of every incident opened: compiled once (store/prepared.ts).
const insertIncidentTrigger = prepared((db, p: { incident: string; tenant: string; openedAt: number }) =>
  db.insertInto('runbook_incident_triggers').values({ incident_id: p.incident, tenant_id: p.tenant, opened_at: p.openedAt }),
);

/** Notes an opened incident for the incident triggers, in the transaction that opened it. */
export async function noteOpenedIncident(trx: Transaction<Database>, incident: { id: string; tenant: string; openedAt: number }): Promise<void> {
  await insertIncidentTrigger.run(trx, { incident: incident.id, tenant: incident.tenant, openedAt: incident.openedAt });
}
