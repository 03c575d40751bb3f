/**
 * Escalation at run time. Opening an incident with a policy writes the escalation state and a
 * timer for the first step, due at once; a leader-only scheduler fires due timers. Firing a
 * timer claims it (sets `fired_at` only if still unset), pages the step's people in the same
 * transaction and writes the next step's timer, so after a crash or restart every step fires
 * once, on time (or as soon as Keel is back, if it was down at the time). Acknowledging or
 * resolving cancels pending timers in the transaction that changes the state. A step whose pages
 * all failed for good, or that had nobody to page, escalates to the next step at once.
 */
import { escalationProgress } from './escalation-queries.js';
import { CompiledQuery, type Transaction } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { timeOrderedId } from '../../core/ids.js';
import { readSpec } from '../../definitions/read-specs.js';
import type { AfterCommit } from '../../core/after-commit.js';
import { toIncident, type Incident, type IncidentService } from '../incidents/incident-service.js';
import { appendTimeline } from '../incidents/timeline.js';
import { formatDuration } from '../incidents/postmortem.js';
import { Directory, type Person } from '../oncall/directory.js';
import type { OncallService } from '../oncall/oncall-service.js';
import type { NotificationJobsTable } from '../notify/tables.js';
import type { NotifyService } from '../notify/notify-service.js';
import type { Target } from '../notify/targets.js';
import type { Database, DbFence } from '../../store/schema.js';
import { prepared } from '../../store/prepared.js';
import type { Store } from '../../store/store.js';
import type { Logger } from '../../telemetry/logger.js';
import { ackTimeoutMs, nextPosition, waitMs, type EscalationPolicySpec } from './policy.js';
import type { EscalationTimersTable } from './tables.js';
import { BackgroundLoop, type Tenure } from '../../core/background-loop.js';
import type { Bus } from '../../core/bus.js';
import type { PagingMetrics } from '../incidents/prometheus.js';
import { UnpagedIncidents, unpagedTriggeredIncidents, type UnpagedCause, type UnpagedFallback } from './unpaged.js';

/** Due timers fired per transaction. */
export const FIRE_BATCH = 50;

type FireReads = Map<string, Promise<unknown>>;

export interface EscalationDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  incidents: IncidentService;
  notify: NotifyService;
  oncall: OncallService;
  pollIntervalMs: number;
  newAfterCommit(): AfterCommit;
  /** Who hears of an incident that paged nobody (default: the tenant's admins). */
  unpagedFallback?: UnpagedFallback;
  metrics?: PagingMetrics;
  /** To notice applied definitions: a policy given to a service starts its open unpaged incidents' escalation. */
  bus?: Bus;
}

export interface EscalationState {
  policy: string;
  status: string;
  pass: number;
  step: number;
  nextAt: number | null;
}

export class EscalationService {
  /** The scheduler: one tenure per leadership, fenced by that tenure's fence. */
  private readonly loop: BackgroundLoop<DbFence | undefined>;
  private readonly unpaged: UnpagedIncidents;
  /** Definitions changed (or the loop just started): look for unpaged incidents a policy now covers. */
  private adoptPending = true;
  private unsubscribe: (() => void) | undefined;
  /**
   * Policies read by `start`, per transaction (dropped with it): definitions are written only by
   * their own apply transactions, never in one that opens incidents.
   */
  private readonly startReads = new WeakMap<Transaction<Database>, FireReads>();
  /** First steps started per transaction, for `fireStarted` (dropped with the transaction). */
  private readonly startedIn = new WeakMap<Transaction<Database>, EscalationTimersTable[]>();

  constructor(private readonly deps: EscalationDeps) {
    this.loop = new BackgroundLoop(
      (tenure) => this.round(tenure),
      (err, failures) => {
        deps.logger.error({ err }, 'escalation scheduler failed; retrying');
        return Math.min(5000, 100 * 2 ** (failures - 1));
      },
    );
    this.unpaged = new UnpagedIncidents({ clock: deps.clock, notify: deps.notify, metrics: deps.metrics, fallback: deps.unpagedFallback ?? 'admins' });
    deps.incidents.addHooks({
      opened: (trx, incident, fx, opened) => this.start(trx, incident, fx, opened.expectsPaging),
      settle: (trx, fx) => this.fireStarted(trx, fx),
      stateChanged: async (trx, incident, _from, actor) => {
        if (incident.state === 'triggered') return;
        await this.halt(trx, incident, actor);
        if (incident.state === 'acknowledged') await this.armAckTimeout(trx, incident);
        else await trx.updateTable('ack_timeouts').set({ canceled_at: this.deps.clock.now() }).where('incident_id', '=', incident.id).where('fired_at', 'is', null).execute();
      },
    });
    deps.notify.addHooks({ deliveryFailed: (trx, job, fx) => this.onDeliveryFailed(trx, job, fx) });
  }

  wake(): void {
    this.loop.wake();
  }

  /** Starts the incident's policy: the first step is due now. */
  async start(trx: Transaction<Database>, incident: Incident, fx: AfterCommit, expectsPaging = incident.createdBy.startsWith('integration:')): Promise<void> {
    if (!incident.escalationPolicy) {
      // An alert, or a declaration that asked to page, found no policy: nobody is paged, loudly.
      // (Declaring with `page: false` is a choice.)
      if (expectsPaging) {
        await this.unpaged.mark(trx, incident, 'no_policy', `service ${incident.service ?? '(none)'} has no escalation policy`, fx);
      }
      return;
    }
    const now = this.deps.clock.now();
    const policyName = incident.escalationPolicy;
    // Read once per transaction: the paging consumer opens many incidents of one service in one.
    let reads = this.startReads.get(trx);
    if (!reads) this.startReads.set(trx, (reads = new Map()));
    const policy = await this.cachedRead(reads, `policy\u0000${incident.tenant}\u0000${policyName}`, () => readSpec<EscalationPolicySpec>(trx, incident.tenant, 'EscalationPolicy', policyName));
    if (!policy) {
      await appendTimeline(trx, incident, {
        at: now,
        actor: 'system',
        type: 'escalation',
        message: `Escalation policy ${incident.escalationPolicy} not found: nobody is paged`,
        data: { policy: incident.escalationPolicy },
      });
      await this.unpaged.mark(trx, incident, 'policy_missing', `escalation policy ${incident.escalationPolicy} does not exist`, fx);
      return;
    }
    await insertEscalation.run(trx, { incident: incident.id, tenant: incident.tenant, policy: incident.escalationPolicy, now });
    const first = await this.schedule(trx, incident, 0, 0, now);
    let started = this.startedIn.get(trx);
    if (!started) this.startedIn.set(trx, (started = []));
    started.push(first);
    fx.add(() => this.wake());
  }

  /**
   * Fires the first steps of the escalations started in this transaction, before it commits. The
   * paging consumer calls it (through `IncidentService.settle`) once a group's incidents are open
   * and their alerts attached, so a storm's first pages are queued with their incidents: no
   * scheduler round and no transaction of their own, and the page leaves sooner. Each fires in a
   * savepoint: one that fails rolls back alone and its timer stays due, so the scheduler fires it
   * (and retries it) as it fires every other step. Escalations started elsewhere (a declaration,
   * the SLO evaluator, an adopted incident) are fired by the scheduler, woken after their commit.
   */
  async fireStarted(trx: Transaction<Database>, fx: AfterCommit): Promise<void> {
    const started = this.startedIn.get(trx);
    if (!started) return;
    this.startedIn.delete(trx);
    let reads = this.startReads.get(trx);
    if (!reads) this.startReads.set(trx, (reads = new Map()));
    for (const timer of started) {
      const stepFx = this.deps.newAfterCommit();
      await trx.executeQuery(SAVEPOINT);
      try {
        await this.fireIn(trx, timer, stepFx, reads);
      } catch (err) {
        await trx.executeQuery(ROLLBACK_TO_SAVEPOINT);
        await trx.executeQuery(RELEASE_SAVEPOINT);
        // The reads of the failed step may hold what it read after a write it rolled back.
        reads.clear();
        this.deps.logger.warn({ err, incident: timer.incident_id }, 'the first escalation step could not fire with its incident; the scheduler fires it');
        continue;
      }
      await trx.executeQuery(RELEASE_SAVEPOINT);
      fx.add(() => stepFx.run((err) => this.deps.logger.error({ err }, 'after-commit effect failed')));
    }
  }

  /** Stops escalating (acknowledged, mitigated or resolved): pending timers are canceled. */
  async halt(trx: Transaction<Database>, incident: Incident, actor: string): Promise<void> {
    const now = this.deps.clock.now();
    const r = await trx
      .updateTable('escalation_timers')
      .set({ canceled_at: now })
      .where('incident_id', '=', incident.id)
      .where('fired_at', 'is', null)
      .where('canceled_at', 'is', null)
      .executeTakeFirst();
    const e = await trx.updateTable('escalations').set({ status: 'stopped', updated_at: now }).where('incident_id', '=', incident.id).where('status', '=', 'active').executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0 || Number(e.numUpdatedRows) > 0) {
      await appendTimeline(trx, incident, { at: now, actor, type: 'escalation', message: `Escalation stopped: incident ${incident.state}`, data: { status: 'stopped' } });
    }
  }

  /** Acknowledged under a policy with `acknowledgementTimeout`: the timeout starts now. */
  private async armAckTimeout(trx: Transaction<Database>, incident: Incident): Promise<void> {
    if (!incident.escalationPolicy) return;
    const policy = await readSpec<EscalationPolicySpec>(trx, incident.tenant, 'EscalationPolicy', incident.escalationPolicy);
    const ms = policy ? ackTimeoutMs(policy) : null;
    if (ms === null) return;
    const now = this.deps.clock.now();
    const row = { incident_id: incident.id, tenant_id: incident.tenant, acknowledged_at: incident.acknowledgedAt ?? now, due_at: now + ms, fired_at: null, canceled_at: null };
    await trx
      .insertInto('ack_timeouts')
      .values(row)
      .onConflict((oc) => oc.column('incident_id').doUpdateSet({ acknowledged_at: row.acknowledged_at, due_at: row.due_at, fired_at: null, canceled_at: null }))
      .execute();
  }

  /**
   * An acknowledgement timed out: if the incident is still acknowledged and an alert of it still
   * fires, it is triggered again and its policy escalates from the first step.
   */
  async fireAckTimeout(incidentId: string, fence?: DbFence): Promise<void> {
    const fx = this.deps.newAfterCommit();
    await this.deps.store.db.transaction().execute(async (trx) => {
      await fence?.(trx);
      const now = this.deps.clock.now();
      const claim = await trx
        .updateTable('ack_timeouts')
        .set({ fired_at: now })
        .where('incident_id', '=', incidentId)
        .where('fired_at', 'is', null)
        .where('canceled_at', 'is', null)
        .executeTakeFirst();
      const row = await claimedIncident(trx, Number(claim.numUpdatedRows), incidentId);
      if (!row || row.state !== 'acknowledged') return;
      const firing = await trx
        .selectFrom('incident_alerts')
        .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
        .select('alerts.id')
        .where('incident_alerts.incident_id', '=', incidentId)
        .where('alerts.status', '=', 'firing')
        .limit(1)
        .executeTakeFirst();
      const incident = toIncident(row);
      if (!firing) {
        await appendTimeline(trx, incident, {
          at: now,
          actor: 'system',
          type: 'escalation',
          message: 'Acknowledgement timeout reached; no alert still fires, so it stays acknowledged',
          data: { ack_timeout: 'expired' },
        });
        return;
      }
      const policy = incident.escalationPolicy ? await readSpec<EscalationPolicySpec>(trx, incident.tenant, 'EscalationPolicy', incident.escalationPolicy) : undefined;
      // The policy's own words when it still exists; when it was deleted meanwhile, the time since
      // the acknowledgement, as recorded with the timeout.
      let ago = policy?.acknowledgementTimeout;
      if (ago === undefined) {
        const ack = await trx.selectFrom('ack_timeouts').select('acknowledged_at').where('incident_id', '=', incidentId).executeTakeFirst();
        ago = ack ? formatDuration(now - Number(ack.acknowledged_at)) : 'some time';
      }
      const after = await this.deps.incidents.retrigger(
        trx,
        incident,
        `acknowledged ${ago} ago and its alerts still fire (acknowledgement timeout of ${incident.escalationPolicy}${policy ? '' : ', a policy since deleted'})`,
        fx,
      );
      await trx.deleteFrom('escalation_timers').where('incident_id', '=', incidentId).execute();
      await trx.deleteFrom('escalations').where('incident_id', '=', incidentId).execute();
      await this.start(trx, after, fx);
    });
    fx.run((err) => this.deps.logger.error({ err }, 'after-commit effect failed'));
  }

  async state(incidentId: string): Promise<EscalationState | undefined> {
    const p = await escalationProgress(this.deps.store.db, incidentId);
    return p ? { policy: p.policy, status: p.status, pass: p.pass, step: p.step, nextAt: p.next?.dueAt ?? null } : undefined;
  }

  private async schedule(trx: Transaction<Database>, incident: Incident, pass: number, step: number, due: number): Promise<EscalationTimersTable> {
    const id = timeOrderedId('tmr', this.deps.clock.now());
    await insertTimer.run(trx, { id, tenant: incident.tenant, incident: incident.id, pass, step, due });
    return { id, tenant_id: incident.tenant, incident_id: incident.id, pass, step, due_at: due, fired_at: null, canceled_at: null };
  }

  // ---- scheduler ---------------------------------------------------------------------------

  /** Runs the scheduler (leader only) until stop(); its transactions check `fence` first. */
  run(fence?: DbFence): void {
    this.adoptPending = true;
    this.unsubscribe?.();
    this.unsubscribe = this.deps.bus?.on('definitions.applied', () => {
      this.adoptPending = true;
      this.wake();
    });
    void this.loop.run(fence);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.loop.stop();
  }

  /** One round of the scheduler: fire what is due; returns how long to wait for the next due step. */
  private async round(tenure: Tenure<DbFence | undefined>): Promise<number> {
    const { store, clock, pollIntervalMs } = this.deps;
    const fence = tenure.context;
    let waitFor = pollIntervalMs;
    if (this.adoptPending) {
      this.adoptPending = false;
      await this.adoptUnpaged(fence);
    }
    const now = clock.now();
    const due = await store.db
      .selectFrom('escalation_timers')
      .selectAll()
      .where('fired_at', 'is', null)
      .where('canceled_at', 'is', null)
      .where('due_at', '<=', now)
      .orderBy('due_at')
      .limit(50)
      .execute();
    // Due timers fire in batches, each batch in one transaction (one commit for many pages);
    // SQLite resolves synchronously, so HTTP and timers run between batches.
    for (let i = 0; i < due.length && !tenure.over; i += FIRE_BATCH) {
      await this.fireBatch(due.slice(i, i + FIRE_BATCH), fence);
      await new Promise((r) => setImmediate(r));
    }
    const acks = await store.db.selectFrom('ack_timeouts').select('incident_id').where('fired_at', 'is', null).where('canceled_at', 'is', null).where('due_at', '<=', now).limit(50).execute();
    for (const a of acks) if (!tenure.over) await this.fireAckTimeout(a.incident_id, fence);
    if (due.length === 50 || acks.length === 50) return 0;
    const nextAck = await store.db
      .selectFrom('ack_timeouts')
      .select((eb) => eb.fn.min('due_at').as('t'))
      .where('fired_at', 'is', null)
      .where('canceled_at', 'is', null)
      .executeTakeFirst();
    if (nextAck?.t !== null && nextAck?.t !== undefined) waitFor = Math.max(1, Math.min(waitFor, Number(nextAck.t) - clock.now()));
    const next = await store.db
      .selectFrom('escalation_timers')
      .select((eb) => eb.fn.min('due_at').as('t'))
      .where('fired_at', 'is', null)
      .where('canceled_at', 'is', null)
      .executeTakeFirst();
    if (next?.t !== null && next?.t !== undefined) waitFor = Math.max(1, Math.min(waitFor, Number(next.t) - clock.now()));
    return waitFor;
  }

  /** Fires one timer: claim, page, schedule the next step, all in one transaction. */
  async fire(timer: EscalationTimersTable, fence?: DbFence): Promise<void> {
    const fx = this.deps.newAfterCommit();
    await this.deps.store.db.transaction().execute(async (trx) => {
      await fence?.(trx);
      await this.fireIn(trx, timer, fx, new Map());
    });
    fx.run((err) => this.deps.logger.error({ err }, 'after-commit effect failed'));
  }

  /**
   * Fires several due timers in ONE transaction: each is claimed, paged and rescheduled exactly as
   * `fire` does, one after the other, so the outcome is the same as firing them one by one, with
   * one commit (one fsync) instead of one per timer. If any of them fails, the whole batch rolls
   * back (no claim, no page, no after-commit effect survives) and its timers are fired one by one,
   * so the others still page and the failing one fails alone, as it would have.
   */
  async fireBatch(timers: EscalationTimersTable[], fence?: DbFence): Promise<void> {
    if (timers.length === 0) return;
    if (timers.length === 1) return this.fire(timers[0]!, fence);
    const fx = this.deps.newAfterCommit();
    try {
      await this.deps.store.db.transaction().execute(async (trx) => {
        await fence?.(trx);
        // Policies and directories read once per tenant in the batch: nothing in it changes them.
        const reads: FireReads = new Map();
        for (const t of timers) await this.fireIn(trx, t, fx, reads);
      });
    } catch (err) {
      this.deps.logger.warn({ err, timers: timers.length }, 'firing a batch of escalation timers failed; firing them one by one');
      let failed: unknown;
      for (const t of timers) {
        try {
          await this.fire(t, fence);
        } catch (e) {
          failed ??= e;
        }
      }
      // The scheduler logs it and backs off; the timer that failed stays due and is tried again.
      if (failed !== undefined) throw failed;
      return;
    }
    fx.run((err) => this.deps.logger.error({ err }, 'after-commit effect failed'));
  }

  /** Reads shared by the timers of one transaction (definitions and people do not change in it). */
  private cachedRead<T>(reads: FireReads, key: string, read: () => Promise<T>): Promise<T> {
    let p = reads.get(key) as Promise<T> | undefined;
    if (!p) {
      p = read();
      reads.set(key, p);
    }
    return p;
  }

  private async fireIn(trx: Transaction<Database>, timer: EscalationTimersTable, fx: AfterCommit, reads: FireReads): Promise<void> {
    const now = this.deps.clock.now();
    const claimed = await claimTimer.run(trx, { id: timer.id, now });
    const row = await claimedIncident(trx, claimed, timer.incident_id);
    if (!row) return;
    const incident = toIncident(row);
    if (incident.state !== 'triggered') return;
    const policyName = incident.escalationPolicy!;
    const policy = await this.cachedRead(reads, `policy\u0000${incident.tenant}\u0000${policyName}`, () => readSpec<EscalationPolicySpec>(trx, incident.tenant, 'EscalationPolicy', policyName));
    const step = policy?.steps[timer.step];
    if (!policy || !step) {
      await trx.updateTable('escalations').set({ status: 'exhausted', updated_at: now }).where('incident_id', '=', incident.id).execute();
      await this.markIfNobodyReached(
        trx,
        incident,
        policy ? 'nobody_to_page' : 'policy_missing',
        policy ? `escalation policy ${policyName} ended before anyone was paged` : `escalation policy ${policyName} was deleted before anyone was paged`,
        fx,
      );
      await appendTimeline(trx, incident, {
        at: now,
        actor: 'system',
        type: 'escalation',
        message: policy ? `Escalation policy ${policyName} has no step ${timer.step + 1} any more; escalation ends` : `Escalation policy ${policyName} was deleted; escalation ends`,
        data: { policy: policyName, pass: timer.pass, step: timer.step },
      });
      return;
    }
    const esc = { policy: policyName, pass: timer.pass, step: timer.step };
    const directory = await this.cachedRead(reads, `directory\u0000${incident.tenant}`, () => Directory.load(trx, incident.tenant));
    const people = new Map<string, { person: Person; why: string }>();
    const missing: string[] = [];
    for (const u of step.notify.users ?? []) {
      const p = directory.handle(u);
      if (p) people.set(p.id ?? p.email, { person: p, why: Directory.label(p) });
      else missing.push(`user ${u}`);
    }
    for (const s of step.notify.schedules ?? []) {
      const who = await this.deps.oncall.onCallAt(trx, incident.tenant, s, now, directory).catch(() => null);
      if (!who) {
        missing.push(`nobody on call in ${s}`);
        continue;
      }
      const key = who.person.id ?? who.person.email;
      if (!people.has(key)) people.set(key, { person: who.person, why: `${Directory.label(who.person)} (on call in ${s})` });
    }
    let jobs = 0;
    for (const { person } of people.values()) jobs += await this.deps.notify.pagePerson(trx, incident, person, esc, fx);
    const channels: string[] = [];
    for (const c of step.notify.channels ?? []) {
      const target = await this.cachedRead(reads, `channel\u0000${incident.tenant}\u0000${c}`, () => readSpec<Target>(trx, incident.tenant, 'Channel', c));
      if (!target) {
        missing.push(`channel ${c}`);
        continue;
      }
      const { metadata: _m, ...t } = target as Target & { metadata?: unknown };
      jobs += await this.deps.notify.notifyChannel(trx, incident, c, t as Target, esc, fx);
      channels.push(c);
    }
    const whom = [...[...people.values()].map((p) => p.why), ...channels.map((c) => `channel ${c}`)];
    await appendTimeline(trx, incident, {
      at: now,
      actor: 'system',
      type: 'escalation',
      message: `Escalation step ${timer.step + 1} of ${policyName}${policy.repeat > 0 ? ` (pass ${timer.pass + 1} of ${policy.repeat + 1})` : ''}: ${whom.length ? `paging ${whom.join(', ')}` : 'nobody to page'}${missing.length ? `; missing: ${missing.join(', ')}` : ''}`,
      data: { policy: policyName, pass: timer.pass, step: timer.step, paged: [...people.values()].map((p) => p.person.id), channels, missing, jobs },
    });
    const next = nextPosition(policy, timer);
    // One update for the position and, at the last step, the end of the escalation.
    await (next ? movePosition : moveToLastPosition).run(trx, { incident: incident.id, pass: timer.pass, step: timer.step, now });
    if (!next) {
      // Pages were just queued (pending): somebody is being reached, no need to look.
      if (jobs === 0) await this.markIfNobodyReached(trx, incident, 'nobody_to_page', `no step of escalation policy ${policyName} had anyone to page`, fx);
      return;
    }
    // Nobody could be paged: do not sit out the wait, go to the next step now.
    const due = jobs > 0 ? now + waitMs(policy, timer.step) : now;
    await this.schedule(trx, incident, next.pass, next.step, due);
    fx.add(() => this.wake());
  }

  /**
   * The escalation ended: if no page is on its way or was delivered, the incident paged nobody.
   * Jobs were made but all failed: `pages_failed`, whatever the caller thought.
   */
  private async markIfNobodyReached(trx: Transaction<Database>, incident: Incident, cause: UnpagedCause, reason: string, fx: AfterCommit): Promise<void> {
    const jobs = await trx.selectFrom('notification_jobs').select('status').where('incident_id', '=', incident.id).execute();
    if (jobs.some((j) => j.status === 'sent' || j.status === 'pending')) return;
    if (jobs.length > 0) await this.unpaged.mark(trx, incident, 'pages_failed', 'every page of its escalation failed', fx);
    else await this.unpaged.mark(trx, incident, cause, reason, fx);
  }

  /**
   * Open, unacknowledged incidents that paged nobody whose service now has an escalation policy
   * (a new one, or the one that was missing now exists): their escalation starts.
   */
  private async adoptUnpaged(fence: DbFence | undefined): Promise<void> {
    const { store } = this.deps;
    const candidates = await unpagedTriggeredIncidents.rows(store.db, {});
    for (const c of candidates) {
      const fx = this.deps.newAfterCommit();
      await store.db.transaction().execute(async (trx) => {
        await fence?.(trx);
        const row = await trx.selectFrom('incidents').selectAll().where('id', '=', c.id).executeTakeFirst();
        if (!row || row.state !== 'triggered' || row.unpaged_at === null || !row.service) return;
        const service = await readSpec<{ escalationPolicy?: string }>(trx, row.tenant_id, 'Service', row.service);
        const policyName = service?.escalationPolicy;
        if (!policyName || !(await readSpec(trx, row.tenant_id, 'EscalationPolicy', policyName))) return;
        const started = await trx.selectFrom('escalations').select('incident_id').where('incident_id', '=', row.id).executeTakeFirst();
        if (started && row.escalation_policy === policyName) return;
        await trx.deleteFrom('escalation_timers').where('incident_id', '=', row.id).execute();
        await trx.deleteFrom('escalations').where('incident_id', '=', row.id).execute();
        await trx.updateTable('incidents').set({ escalation_policy: policyName, unpaged_reason: null, unpaged_at: null }).where('id', '=', row.id).execute();
        const incident = toIncident({ ...row, escalation_policy: policyName, unpaged_reason: null, unpaged_at: null });
        await appendTimeline(trx, incident, {
          at: this.deps.clock.now(),
          actor: 'system',
          type: 'escalation',
          message: `Service ${row.service} now has escalation policy ${policyName}: escalation starts`,
          data: { policy: policyName, previously_unpaged: row.unpaged_reason },
        });
        await this.start(trx, incident, fx);
      });
      fx.run((err) => this.deps.logger.error({ err }, 'after-commit effect failed'));
    }
  }

  /** Every page of a step failed for good: the next step is due now instead of after the wait. */
  private async onDeliveryFailed(trx: Transaction<Database>, job: NotificationJobsTable, fx: AfterCommit): Promise<void> {
    if (job.pass === null || job.step === null || !job.incident_id) return;
    const esc = await trx.selectFrom('escalations').select('status').where('incident_id', '=', job.incident_id).executeTakeFirst();
    if (esc?.status === 'exhausted') {
      const row = await trx.selectFrom('incidents').selectAll().where('id', '=', job.incident_id).executeTakeFirst();
      if (row?.state === 'triggered') await this.markIfNobodyReached(trx, toIncident(row), 'pages_failed', 'every page of its escalation failed', fx);
    }
    const siblings = await trx.selectFrom('notification_jobs').select(['status']).where('incident_id', '=', job.incident_id).where('pass', '=', job.pass).where('step', '=', job.step).execute();
    if (siblings.some((s) => s.status === 'sent' || s.status === 'pending')) return;
    const now = this.deps.clock.now();
    const r = await trx
      .updateTable('escalation_timers')
      .set({ due_at: now })
      .where('incident_id', '=', job.incident_id)
      .where('fired_at', 'is', null)
      .where('canceled_at', 'is', null)
      .where('due_at', '>', now)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0) {
      await appendTimeline(
        trx,
        { id: job.incident_id, tenant: job.tenant_id },
        {
          at: now,
          actor: 'system',
          type: 'escalation',
          message: `Every page of step ${job.step + 1} failed; escalating to the next step now`,
          data: { pass: job.pass, step: job.step },
        },
      );
      fx.add(() => this.wake());
    }
  }
}

/**
 * The incident of a timer row this caller just marked fired, or undefined when the update
 * changed nothing (another process fired or canceled it first: it must not fire twice).
 */
async function claimedIncident(trx: Transaction<Database>, claimedRows: number, incidentId: string) {
  if (claimedRows === 0) return undefined;
  return incidentById.first(trx, { id: incidentId });
}

// The statements of every escalation step of a storm, compiled once (store/prepared.ts).
const insertEscalation = prepared((db, p: { incident: string; tenant: string; policy: string; now: number }) =>
  db.insertInto('escalations').values({ incident_id: p.incident, tenant_id: p.tenant, policy: p.policy, status: 'active', pass: 0, step: -1, started_at: p.now, updated_at: p.now }),
);
// One savepoint name: first steps fire one after the other, each released before the next.
const SAVEPOINT = CompiledQuery.raw('savepoint keel_first_step');
const RELEASE_SAVEPOINT = CompiledQuery.raw('release savepoint keel_first_step');
const ROLLBACK_TO_SAVEPOINT = CompiledQuery.raw('rollback to savepoint keel_first_step');

const insertTimer = prepared((db, p: { id: string; tenant: string; incident: string; pass: number; step: number; due: number }) =>
  db
    .insertInto('escalation_timers')
    .values({ id: p.id, tenant_id: p.tenant, incident_id: p.incident, pass: p.pass, step: p.step, due_at: p.due, fired_at: null, canceled_at: null })
    .onConflict((oc) => oc.columns(['incident_id', 'pass', 'step']).doNothing()),
);
const claimTimer = prepared((db, p: { id: string; now: number }) =>
  db.updateTable('escalation_timers').set({ fired_at: p.now }).where('id', '=', p.id).where('fired_at', 'is', null).where('canceled_at', 'is', null),
);
const incidentById = prepared((db, p: { id: string }) => db.selectFrom('incidents').selectAll().where('id', '=', p.id));
const movePosition = prepared((db, p: { incident: string; pass: number; step: number; now: number }) =>
  db.updateTable('escalations').set({ pass: p.pass, step: p.step, updated_at: p.now }).where('incident_id', '=', p.incident),
);
/** The position of the last step: the escalation ends with it. */
const moveToLastPosition = prepared((db, p: { incident: string; pass: number; step: number; now: number }) =>
  db.updateTable('escalations').set({ pass: p.pass, step: p.step, updated_at: p.now, status: 'exhausted' }).where('incident_id', '=', p.incident),
);
