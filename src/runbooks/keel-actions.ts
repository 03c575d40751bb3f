/**
 * The `keel` step actions that change Keel's own records: incident notes, severity, mitigation and
 * resolution, pages to people and on-call schedules, and SLO recounts. Each runs inside the
 * transaction that journals the step's result, so it happens exactly once with its record: a crash
 * before the commit leaves nothing done (the step is simply run again), and once it committed the
 * step is finished and never run again. A page is therefore never sent twice by a resumed run.
 */
import type { Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import type { AfterCommit } from '../core/after-commit.js';
import type { Incident, IncidentService } from '../paging/incidents/incident-service.js';
import type { NotifyService } from '../paging/notify/notify-service.js';
import { Directory, type Person } from '../paging/oncall/directory.js';
import type { OncallService } from '../paging/oncall/oncall-service.js';
import type { Database } from '../store/schema.js';
import type { RunRecord } from './runs.js';
import type { KeelAction, RunbookStep } from './spec.js';
import { render } from './templates.js';

/** Actions done in the step's own transaction (the rest act outside the Store or are idempotent sets). */
export const TRANSACTIONAL_ACTIONS: ReadonlySet<KeelAction> = new Set(['incident.note', 'incident.severity', 'incident.mitigate', 'incident.resolve', 'page', 'slo.backfill']);

export interface KeelActionDeps {
  clock: Clock;
  incidents: IncidentService;
  notify: NotifyService;
  oncall: OncallService;
  /** Starts counting an SLO again from the log in `trx`; the new generation's id, or undefined when there is no such SLO. */
  recountSlo(trx: Transaction<Database>, tenant: string, name: string, now: number): Promise<string | undefined>;
}

export class KeelActions {
  constructor(private readonly deps: KeelActionDeps) {}

  /** Does a transactional action in `trx`; returns the step's output. Throws KeelError for a definite failure. */
  async inTransaction(run: RunRecord, step: RunbookStep, values: Record<string, unknown>, trx: Transaction<Database>, fx: AfterCommit): Promise<Record<string, unknown>> {
    const k = step.keel!;
    const text = (t: string) => render(t, values, () => '');
    if (k.action === 'slo.backfill') {
      const slo = text(k.slo!);
      const generation = await this.deps.recountSlo(trx, run.tenant, slo, this.deps.clock.now());
      if (!generation) throw new KeelError('not_found', `step ${step.name}: no SLO named "${slo}"`);
      return { action: k.action, slo, generation, result: 'done' };
    }
    const ref = k.incident ? text(k.incident) : run.incidentId;
    if (!ref) throw new KeelError('bad_request', `step ${step.name}: the run is tied to no incident and the step names none`);
    const incident = await this.deps.incidents.require(trx, run.tenant, ref);
    const actor = `runbook:${run.runbook}`;
    const note = k.text === undefined ? undefined : text(k.text);
    switch (k.action) {
      case 'page':
        return { action: k.action, incident: incident.number, ...(await this.page(trx, incident, (k.users ?? []).map(text), (k.schedules ?? []).map(text), step.name, fx)), result: 'done' };
      case 'incident.note':
        await this.deps.incidents.note(trx, incident, note ?? '', actor, fx, 'runbook', { run_id: run.id, step: step.name });
        break;
      case 'incident.severity':
        await this.deps.incidents.update(trx, incident, { severity: k.severity! }, actor, fx);
        break;
      default: {
        const to = k.action === 'incident.mitigate' ? 'mitigated' : 'resolved';
        // Already there (a person was faster): the step's goal holds, so it succeeds.
        if (incident.state !== to) await this.deps.incidents.transition(trx, incident, to, actor, fx, note);
      }
    }
    return { action: k.action, incident: incident.number, result: 'done' };
  }

  /**
   * Pages the named people and whoever is on call in the named schedules now, through their
   * notification rules, as an escalation step does (one page per person even when named twice).
   * Reaching nobody is a failure: a runbook that meant to get a person must not report success.
   */
  private async page(
    trx: Transaction<Database>,
    incident: Incident,
    users: string[],
    schedules: string[],
    stepName: string,
    fx: AfterCommit,
  ): Promise<{ paged: string[]; missing: string[]; notifications: number }> {
    const now = this.deps.clock.now();
    const directory = await Directory.load(trx, incident.tenant);
    const people = new Map<string, Person>();
    const missing: string[] = [];
    for (const u of users) {
      const p = directory.handle(u);
      if (p) people.set(p.id ?? p.email, p);
      else missing.push(`user ${u}`);
    }
    for (const s of schedules) {
      const who = await this.deps.oncall.onCallAt(trx, incident.tenant, s, now, directory).catch(() => null);
      if (who) people.set(who.person.id ?? who.person.email, who.person);
      else missing.push(`nobody on call in ${s}`);
    }
    let notifications = 0;
    const paged: string[] = [];
    for (const p of people.values()) {
      const n = await this.deps.notify.pagePerson(trx, incident, p, null, fx);
      notifications += n;
      if (n > 0) paged.push(Directory.label(p));
      else missing.push(`${Directory.label(p)} has no contact methods`);
    }
    if (notifications === 0) throw new KeelError('conflict', `step ${stepName}: nobody could be paged (${missing.join('; ')})`);
    return { paged, missing, notifications };
  }
}
