/**
 * Notifications as an outbox: escalation creates jobs inside its own transaction (so creating a
 * page is exactly-once), and a leader-only worker delivers them: at-least-once, because a crash
 * between sending and recording sends again with the same delivery id. Each attempt is recorded
 * (status, latency) and shows in the incident timeline; failures are retried with exponential
 * backoff and jitter; a job that keeps failing is marked failed and handed to the hooks
 * (escalation moves on to the next step instead of waiting).
 */
import type { Kysely, Transaction } from 'kysely';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { SecretBox } from '../core/secrets.js';
import { randomBase62 } from '../core/ids.js';
import type { AfterCommit, Fence } from '../incidents/after-commit.js';
import type { Incident } from '../incidents/incident-service.js';
import type { PagingMetrics } from '../incidents/prometheus.js';
import { appendTimeline } from '../incidents/timeline.js';
import { Directory, type Person } from '../oncall/directory.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import { backoffDelay } from './backoff.js';
import { deliver, type DeliveryResult } from './deliver.js';
import { ensureLinkKey, readLinkKey } from './link-key.js';
import { signLink } from './links.js';
import type { ApprovalMessage, NotificationMessage } from './approval-message.js';
import { isPage, type PageMessage, type SloPageDetails } from './message.js';
import type { SecretStore } from './secret-store.js';
import type { SmtpSettingsStore } from './smtp-settings.js';
import type { NotificationJobsTable } from './tables.js';
import { describeTarget, type Target } from './targets.js';
import { Waker } from '../core/waker.js';

type Db = Kysely<Database> | Transaction<Database>;

declare module '../core/bus.js' {
  interface BusEvents {
    /** After each final delivery outcome (sent, failed, canceled because the incident moved on). */
    'notification.sent': {
      tenant: string;
      incidentId: string | null;
      deliveryId: string;
      channel: string;
      userId: string | null;
      status: 'sent' | 'failed' | 'canceled';
      attempts: number;
      /** From the job's creation (the page was decided) to this outcome, in ms (Keel's own SLOs). */
      queuedMs: number;
    };
  }
}

export interface NotifyConfig {
  publicUrl: string;
  linkTtlMs: number;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
  concurrency: number;
  pollIntervalMs: number;
}

export interface EscalationContext {
  policy: string;
  pass: number;
  step: number;
}

export interface NotifyHooks {
  /** In the transaction that marked the job failed for good. */
  deliveryFailed?(trx: Transaction<Database>, job: NotificationJobsTable, fx: AfterCommit): Promise<void>;
}

export interface NotifyDeps {
  store: Store;
  /** Seals the link-signing key. */
  box: SecretBox;
  clock: Clock;
  bus: Bus;
  logger: Logger;
  metrics: PagingMetrics;
  secrets: SecretStore;
  smtp: SmtpSettingsStore;
  config: NotifyConfig;
  newAfterCommit(): AfterCommit;
}

/** Delivery outcomes recorded per transaction. */
export const RECORD_BATCH = 64;

/** How one attempt ended, to be recorded. */
interface Outcome {
  job: NotificationJobsTable;
  status: 'sent' | 'failed' | 'canceled' | 'retry';
  result: DeliveryResult | null;
  latency: number;
  /** Why it was not sent (canceled). */
  reason?: string;
  /** Until the next attempt (retry). */
  delay?: number;
}

export class NotifyService {
  /** Cached once known to be committed. */
  private linkKey: Buffer | undefined;
  private readonly hooks: NotifyHooks[] = [];
  private readonly inFlight = new Set<string>();
  private stopped = false;
  private readonly waker = new Waker();
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: NotifyDeps) {}

  /** The link-signing key for verifying links; undefined while no link was ever issued. */
  async verificationKey(): Promise<Buffer | undefined> {
    this.linkKey ??= await readLinkKey(this.deps.store.db, this.deps.box);
    return this.linkKey;
  }

  /** The key for issuing links inside `trx` (created with the first link, cached after commit). */
  private async issuingKey(trx: Transaction<Database>, fx: AfterCommit): Promise<Buffer> {
    if (this.linkKey) return this.linkKey;
    const { key, created } = await ensureLinkKey(trx, this.deps.box, this.deps.clock.now());
    if (created) fx.add(() => (this.linkKey = key));
    else this.linkKey = key;
    return key;
  }

  addHooks(h: NotifyHooks): void {
    this.hooks.push(h);
  }

  wake(): void {
    this.waker.wake();
  }

  /** Pages a person: one job per notification rule (delayed rules wait), within `trx`. */
  async pagePerson(trx: Transaction<Database>, incident: Incident, person: Person, esc: EscalationContext | null, fx: AfterCommit): Promise<number> {
    const now = this.deps.clock.now();
    const label = Directory.label(person);
    if (!person.id) {
      await appendTimeline(trx, incident, { at: now, actor: 'system', type: 'notification', message: `Cannot page ${label}: no such user`, data: { user: label } });
      return 0;
    }
    const rules = await this.rulesOf(trx, incident.tenant, person.id);
    if (rules.length === 0) {
      await appendTimeline(trx, incident, {
        at: now,
        actor: 'system',
        type: 'notification',
        message: `Cannot page ${label}: no contact methods`,
        data: { user_id: person.id, status: 'failed' },
      });
      return 0;
    }
    const recipient = { user_id: person.id, name: person.name, email: person.email };
    const message = await this.buildMessage(trx, incident, recipient, esc);
    const key = await this.issuingKey(trx, fx);
    for (const r of rules) {
      const target = JSON.parse(r.config_json) as Target;
      await this.insertJob(trx, incident, { userId: person.id, targetName: r.name, target, message: this.withLinks(key, message, incident, person.id), delayMs: Number(r.delay_ms), esc });
    }
    await appendTimeline(trx, incident, {
      at: now,
      actor: 'system',
      type: 'notification',
      message: `Paging ${label} via ${rules.map((r) => `${r.name}${Number(r.delay_ms) > 0 ? ` (after ${Math.round(Number(r.delay_ms) / 1000)}s)` : ''}`).join(', ')}`,
      data: { user_id: person.id, status: 'queued', contact_methods: rules.map((r) => r.name) },
    });
    fx.add(() => {
      this.deps.metrics.pages.inc({ tenant: incident.tenant, user: person.email });
      this.wake();
    });
    return rules.length;
  }

  /**
   * Rules read per transaction (dropped with it): an escalation batch pages the same people for
   * many incidents, and contact methods and rules are never written in a transaction that pages.
   */
  private readonly rulesRead = new WeakMap<Transaction<Database>, Map<string, ReturnType<NotifyService['readRules']>>>();

  /** A person's contact methods in the order of their notification rules, with each rule's delay. */
  private rulesOf(trx: Transaction<Database>, tenant: string, userId: string): ReturnType<NotifyService['readRules']> {
    let reads = this.rulesRead.get(trx);
    if (!reads) this.rulesRead.set(trx, (reads = new Map()));
    const key = `${tenant}\u0000${userId}`;
    let rules = reads.get(key);
    if (!rules) reads.set(key, (rules = this.readRules(trx, tenant, userId)));
    return rules;
  }

  private async readRules(trx: Transaction<Database>, tenant: string, userId: string) {
    return trx
      .selectFrom('notification_rules')
      .innerJoin('contact_methods', (j) =>
        j
          .onRef('contact_methods.tenant_id', '=', 'notification_rules.tenant_id')
          .onRef('contact_methods.user_id', '=', 'notification_rules.user_id')
          .onRef('contact_methods.name', '=', 'notification_rules.contact_method'),
      )
      .select(['notification_rules.delay_ms', 'contact_methods.name', 'contact_methods.type', 'contact_methods.config_json'])
      .where('notification_rules.tenant_id', '=', tenant)
      .where('notification_rules.user_id', '=', userId)
      .orderBy('notification_rules.position')
      .execute();
  }

  /**
   * Asks a person to approve a runbook step, within the transaction that started the wait: one job
   * per contact method of their notification rules, all at once (the wait has its own timeout; a
   * rule's delay is for pages that escalate), each with its own signed single-use link that
   * expires with the step. Returns the number of jobs (0: the person has no contact methods).
   */
  async requestApproval(
    trx: Transaction<Database>,
    fx: AfterCommit,
    r: { tenant: string; incident: { id: string; number: number } | null; person: Person; run: { id: string; runbook: string }; step: { name: string; message: string | null }; exp: number; linkPath: string },
  ): Promise<number> {
    if (!r.person.id) return 0;
    const rules = await this.rulesOf(trx, r.tenant, r.person.id);
    if (rules.length === 0) return 0;
    const key = await this.issuingKey(trx, fx);
    const base = this.deps.config.publicUrl.replace(/\/+$/, '');
    for (const rule of rules) {
      const token = signLink(key, { tenant: r.tenant, action: 'approve', run: r.run.id, step: r.step.name, user: r.person.id, exp: r.exp });
      const message: ApprovalMessage = {
        event: 'runbook.approval_requested',
        tenant: r.tenant,
        run: { ...r.run, url: `${base}/runbooks/runs/${encodeURIComponent(r.run.id)}?team=${encodeURIComponent(r.tenant)}`, incident: r.incident },
        step: r.step,
        expires_at: new Date(r.exp).toISOString(),
        approve_url: `${base}${r.linkPath}?token=${token}`,
        recipient: { user_id: r.person.id, name: r.person.name, email: r.person.email },
      };
      await this.insertJob(trx, { tenant: r.tenant, id: r.incident?.id ?? null }, { userId: r.person.id, targetName: rule.name, target: JSON.parse(rule.config_json) as Target, message, delayMs: 0, esc: null });
    }
    fx.add(() => this.wake());
    return rules.length;
  }

  /**
   * The incident was acknowledged or resolved: every webhook paged for it hears so, and who did it
   * (as PagerDuty's `incident.acknowledged` and `incident.resolved` webhooks), in the transaction
   * of the change, so it is sent exactly when the change committed.
   */
  async incidentStateChanged(trx: Transaction<Database>, incident: Incident, actor: string, fx: AfterCommit): Promise<void> {
    if (incident.state !== 'acknowledged' && incident.state !== 'resolved') return;
    // The webhooks that were paged: pages sent, or due and on their way (not a delayed rule that
    // the acknowledgement drops before it is ever sent).
    const now = this.deps.clock.now();
    const jobs = await trx
      .selectFrom('notification_jobs')
      .select(['user_id', 'target_name', 'target_json', 'message_json'])
      .where('incident_id', '=', incident.id)
      .where('channel', '=', 'webhook')
      .where('kind', '=', 'page')
      .where((eb) => eb.or([eb('status', '=', 'sent'), eb.and([eb('status', '=', 'pending'), eb('next_attempt_at', '<=', now)])]))
      .orderBy('created_at')
      .execute();
    const pages = jobs.map((j) => ({ ...j, message: JSON.parse(j.message_json) as PageMessage }));
    if (pages.length === 0) return;
    const base = await this.buildMessage(trx, incident, null, null);
    const by = await this.actorView(trx, incident.tenant, actor);
    const seen = new Set<string>();
    for (const j of pages) {
      const key = `${j.user_id ?? ''}\u0000${j.target_json}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const message: PageMessage = { ...base, event: `incident.${incident.state}`, recipient: j.message.recipient, by };
      await this.insertJob(trx, incident, { userId: j.user_id, targetName: j.target_name, target: JSON.parse(j.target_json) as Target, message, delayMs: 0, esc: null });
    }
    fx.add(() => this.wake());
  }

  /** Who did it, for a message: a person (`user:<email>`) with their name, else the actor as is. */
  private async actorView(db: Db, tenant: string, actor: string): Promise<NonNullable<PageMessage['by']>> {
    const email = actor.startsWith('user:') ? actor.slice(5) : null;
    const person = email ? await (await Directory.load(db, tenant)).resolve(db, email) : undefined;
    return person ? { actor, ...(person.id ? { user_id: person.id } : {}), name: person.name, email: person.email } : { actor };
  }

  /** Notifies a shared channel (no person: its links act as `system`). */
  async notifyChannel(trx: Transaction<Database>, incident: Incident, name: string, target: Target, esc: EscalationContext | null, fx: AfterCommit): Promise<number> {
    const message = this.withLinks(await this.issuingKey(trx, fx), await this.buildMessage(trx, incident, null, esc), incident, null);
    await this.insertJob(trx, incident, { userId: null, targetName: name, target, message, delayMs: 0, esc });
    await appendTimeline(trx, incident, {
      at: this.deps.clock.now(),
      actor: 'system',
      type: 'notification',
      message: `Notifying channel ${name} (${describeTarget(target)})`,
      data: { channel: name, status: 'queued' },
    });
    fx.add(() => this.wake());
    return 1;
  }

  private async insertJob(
    trx: Transaction<Database>,
    owner: { tenant: string; id: string | null },
    j: { userId: string | null; targetName: string; target: Target; message: NotificationMessage; delayMs: number; esc: EscalationContext | null },
  ): Promise<string> {
    const now = this.deps.clock.now();
    const id = `dlv_${randomBase62(16)}`;
    await trx
      .insertInto('notification_jobs')
      .values({
        id,
        tenant_id: owner.tenant,
        incident_id: owner.id,
        user_id: j.userId,
        target_name: j.targetName,
        channel: j.target.type,
        target_json: JSON.stringify(j.target),
        message_json: JSON.stringify(j.message),
        status: 'pending',
        kind: isPage(j.message) ? 'page' : 'update',
        attempts: 0,
        next_attempt_at: now + j.delayMs,
        created_at: now,
        updated_at: now,
        sent_at: null,
        last_error: null,
        last_status: null,
        latency_ms: null,
        pass: j.esc?.pass ?? null,
        step: j.esc?.step ?? null,
      })
      .execute();
    return id;
  }

  private async buildMessage(db: Db, incident: Incident, recipient: PageMessage['recipient'], esc: EscalationContext | null): Promise<PageMessage> {
    const alerts = await db
      .selectFrom('incident_alerts')
      .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
      .select(['alerts.summary', 'alerts.severity', 'alerts.source', 'alerts.links_json', 'alerts.labels_json', 'alerts.details_json'])
      .where('incident_alerts.incident_id', '=', incident.id)
      .orderBy('incident_alerts.attached_at', 'desc')
      .limit(5)
      .execute();
    const links = new Map<string, { href: string; text?: string }>();
    for (const a of alerts) for (const l of JSON.parse(a.links_json) as { href: string; text?: string }[]) if (!links.has(l.href)) links.set(l.href, l);
    const base = this.deps.config.publicUrl.replace(/\/+$/, '');
    return {
      event: esc && (esc.pass > 0 || esc.step > 0) ? 'incident.escalated' : 'incident.triggered',
      tenant: incident.tenant,
      incident: {
        id: incident.id,
        number: incident.number,
        title: incident.title,
        summary: incident.summary,
        severity: incident.severity,
        state: incident.state,
        service: incident.service,
        opened_at: new Date(incident.openedAt).toISOString(),
        // The console's incident page (the team in the link, for people in several teams).
        url: `${base}/incidents/${encodeURIComponent(incident.id)}?team=${encodeURIComponent(incident.tenant)}`,
      },
      alerts: alerts.map((a) => {
        const slo = (JSON.parse(a.details_json) as { page?: SloPageDetails }).page;
        return { summary: a.summary, severity: a.severity, source: a.source, labels: JSON.parse(a.labels_json) as Record<string, string>, ...(slo ? { slo } : {}) };
      }),
      links: [...links.values()].slice(0, 10),
      ack_url: '',
      resolve_url: '',
      recipient,
      escalation: esc,
    };
  }

  /** Fresh signed links per job: each is single-use, and carries the recipient as the actor. */
  private withLinks(key: Buffer, m: PageMessage, incident: Incident, userId: string | null): PageMessage {
    const base = this.deps.config.publicUrl.replace(/\/+$/, '');
    const exp = this.deps.clock.now() + this.deps.config.linkTtlMs;
    const link = (action: 'ack' | 'resolve') => `${base}/v1/links?token=${signLink(key, { tenant: incident.tenant, incident: incident.id, action, user: userId, exp })}`;
    return { ...m, ack_url: link('ack'), resolve_url: link('resolve') };
  }

  // ---- delivery worker ---------------------------------------------------------------------

  /** Starts the delivery loop (leader only). */
  private fence: Fence | undefined;

  run(fence?: Fence): void {
    this.fence = fence;
    this.stopped = false;
    this.loop = this.work();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    while (this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 10));
  }


  private async work(): Promise<void> {
    const { store, clock, logger, config } = this.deps;
    let failures = 0;
    let pruned = 0;
    while (!this.stopped) {
      let waitMs = config.pollIntervalMs;
      try {
        // Used link tokens only matter until they would have expired anyway.
        if (clock.now() - pruned > 10 * 60_000) {
          pruned = clock.now();
          await store.db.deleteFrom('used_link_tokens').where('expires_at', '<', pruned).execute();
        }
        const free = config.concurrency - this.inFlight.size;
        const busy = [...this.inFlight];
        if (free > 0) {
          const now = clock.now();
          let q = store.db.selectFrom('notification_jobs').selectAll().where('status', '=', 'pending').where('next_attempt_at', '<=', now);
          if (busy.length) q = q.where('id', 'not in', busy);
          const fresh = await q.orderBy('next_attempt_at').limit(free).execute();
          if (fresh.length > 0) {
            for (const job of fresh) this.inFlight.add(job.id);
            // One check of the lease and one read of the incidents' states for all of them,
            // just before they are sent.
            const cleared = this.clear(fresh);
            for (const job of fresh) {
              void this.attempt(job, cleared).finally(() => {
                this.inFlight.delete(job.id);
                this.wake();
              });
            }
          }
          if (fresh.length === 0) {
            // Sleep until the next job not already being delivered is due; a delivery that
            // finishes (or a new job) wakes the loop earlier.
            let nq = store.db.selectFrom('notification_jobs').select((eb) => eb.fn.min('next_attempt_at').as('t')).where('status', '=', 'pending');
            if (busy.length) nq = nq.where('id', 'not in', busy);
            const next = await nq.executeTakeFirst();
            if (next?.t !== null && next?.t !== undefined) waitMs = Math.max(1, Math.min(waitMs, Number(next.t) - now));
          } else waitMs = 0;
        }
        failures = 0;
      } catch (err) {
        logger.error({ err }, 'notification worker failed; retrying');
        waitMs = Math.min(5000, 100 * 2 ** failures++);
      }
      // SQLite queries resolve synchronously: yield so HTTP and timers run between rounds.
      if (!this.stopped) await (waitMs > 0 ? this.waker.sleep(waitMs) : new Promise((r) => setImmediate(r)));
    }
  }

  /**
   * Before a set of jobs is sent: a deposed leader (one resuming after a stall, its lease gone)
   * must not page, so the lease is checked against the store just before the deliveries, in the
   * transaction that reads the states of their incidents. Undefined: do not send.
   */
  private async clear(jobs: NotificationJobsTable[]): Promise<Map<string, string> | undefined> {
    const { store, logger } = this.deps;
    const ids = [...new Set(jobs.map((j) => j.incident_id).filter((id): id is string => id !== null))];
    try {
      return await store.db.transaction().execute(async (trx) => {
        try {
          await this.fence?.(trx);
        } catch (err) {
          logger.warn({ err, deliveries: jobs.map((j) => j.id) }, 'not delivering: this process no longer leads paging');
          return undefined;
        }
        const rows = ids.length ? await trx.selectFrom('incidents').select(['id', 'state']).where('id', 'in', ids).execute() : [];
        return new Map(rows.map((r) => [r.id, r.state]));
      });
    } catch (err) {
      // The store cannot be read: the jobs stay pending and are tried again.
      logger.error({ err, deliveries: jobs.map((j) => j.id) }, 'reading incidents before delivery failed');
      return undefined;
    }
  }

  private async attempt(job: NotificationJobsTable, cleared: Promise<Map<string, string> | undefined>): Promise<void> {
    const { clock, logger } = this.deps;
    const states = await cleared;
    if (!states) return;
    try {
      const state = job.incident_id ? states.get(job.incident_id) : undefined;
      const message = JSON.parse(job.message_json) as NotificationMessage;
      // A page is for an unacknowledged incident: once someone acknowledged (or it resolved),
      // pages still waiting (delayed rules, retries) are dropped.
      if (state !== undefined && state !== 'triggered' && isPage(message)) {
        await this.record({ job, status: 'canceled', result: null, latency: 0, reason: `incident is ${state}` });
        return;
      }
      const started = performance.now();
      const result = await deliver(
        { id: job.id, tenant: job.tenant_id, target: JSON.parse(job.target_json) as Target, message },
        { secrets: this.deps.secrets, smtp: this.deps.smtp, timeoutMs: this.deps.config.timeoutMs, now: () => clock.now() },
      );
      const latency = Math.round((performance.now() - started) * 10) / 10;
      this.deps.metrics.deliverySeconds.observe({ channel: job.channel }, latency / 1000);
      await this.record(this.outcome(job, result, latency));
    } catch (err) {
      // Recording failed (store down): the job stays pending and is tried again.
      logger.error({ err, delivery: job.id }, 'recording a notification attempt failed');
    }
  }

  /** What an attempt's result means for its job: sent, retried later, or failed for good. */
  private outcome(job: NotificationJobsTable, result: DeliveryResult, latency: number): Outcome {
    if (result.ok) return { job, status: 'sent', result, latency };
    const { config } = this.deps;
    const attempt = job.attempts + 1;
    if (result.retryable && attempt < config.maxAttempts) {
      return { job, status: 'retry', result, latency, delay: backoffDelay(attempt, { initialMs: config.initialBackoffMs, maxMs: config.maxBackoffMs }) };
    }
    return { job, status: 'failed', result, latency };
  }

  // ---- recording outcomes, many per transaction ------------------------------------------

  private readonly toRecord: { outcome: Outcome; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private recording = false;

  /**
   * Records an outcome; resolves once it is committed. Outcomes that arrive together (deliveries
   * answered in the same turn of the event loop, or while the previous batch was being written)
   * are recorded in one transaction: one commit for many deliveries. Until its outcome is
   * committed a job stays pending and in flight, so it is neither fetched again nor lost.
   */
  private record(outcome: Outcome): Promise<void> {
    return new Promise((resolve, reject) => {
      this.toRecord.push({ outcome, resolve, reject });
      if (!this.recording) {
        this.recording = true;
        setImmediate(() => void this.recordPending());
      }
    });
  }

  private async recordPending(): Promise<void> {
    while (this.toRecord.length > 0) {
      const batch = this.toRecord.splice(0, RECORD_BATCH);
      const fx = this.deps.newAfterCommit();
      try {
        await this.deps.store.db.transaction().execute(async (trx) => {
          await this.fence?.(trx);
          for (const b of batch) await this.recordIn(trx, b.outcome, fx);
        });
        fx.run();
        for (const b of batch) b.resolve();
      } catch (err) {
        if (batch.length === 1) batch[0]!.reject(err);
        else {
          // The batch rolled back whole: each outcome on its own, so one that cannot be recorded
          // does not hold back the others (it stays pending and is tried again).
          this.deps.logger.warn({ err, deliveries: batch.length }, 'recording a batch of delivery outcomes failed; recording them one by one');
          for (const b of batch) {
            const one = this.deps.newAfterCommit();
            try {
              await this.deps.store.db.transaction().execute(async (trx) => {
                await this.fence?.(trx);
                await this.recordIn(trx, b.outcome, one);
              });
              one.run();
              b.resolve();
            } catch (e) {
              b.reject(e);
            }
          }
        }
      }
      // SQLite resolves synchronously: let HTTP and timers run between batches.
      await new Promise((r) => setImmediate(r));
    }
    this.recording = false;
  }

  private async recordIn(trx: Transaction<Database>, o: Outcome, fx: AfterCommit): Promise<void> {
    const { job, result, latency } = o;
    const now = this.deps.clock.now();
    if (o.status === 'retry' && result) {
      const { config } = this.deps;
      const attempt = job.attempts + 1;
      const delay = o.delay ?? 0;
      await trx
        .updateTable('notification_jobs')
        .set({ attempts: attempt, next_attempt_at: now + delay, updated_at: now, last_error: result.error, last_status: result.status, latency_ms: latency })
        .where('id', '=', job.id)
        .where('status', '=', 'pending')
        .execute();
      await this.insertAttempt(trx, job.id, attempt, now, result, latency);
      await this.timeline(trx, job, now, `Delivery to ${who(job)} via ${job.target_name} failed (${result.error}); retry ${attempt + 1} of ${config.maxAttempts} in ${(delay / 1000).toFixed(1)}s`, {
        status: 'retrying',
        attempt,
        status_code: result.status,
        error: result.error,
        latency_ms: latency,
        next_attempt_in_ms: delay,
      });
      fx.add(() => this.deps.metrics.notifications.inc({ channel: job.channel, outcome: 'retry' }));
      return;
    }
    const status = o.status === 'retry' ? 'failed' : o.status;
    const reason = o.reason;
    const attempt = result ? job.attempts + 1 : job.attempts;
    const r = await trx
      .updateTable('notification_jobs')
      .set({
        status,
        attempts: attempt,
        updated_at: now,
        ...(status === 'sent' ? { sent_at: now } : {}),
        ...(result ? { last_error: result.error, last_status: result.status, latency_ms: latency } : { last_error: reason ?? null }),
      })
      .where('id', '=', job.id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return;
    if (result) await this.insertAttempt(trx, job.id, attempt, now, result, latency);
    const event = (JSON.parse(job.message_json) as NotificationMessage).event;
    const message =
      status === 'sent'
        ? `${event === 'incident.triggered' || event === 'incident.escalated' ? 'Paged' : `Sent ${event} to`} ${who(job)} via ${job.target_name} (${job.channel}${result?.status ? `, ${result.status}` : ''}, ${latency} ms, attempt ${attempt})`
        : status === 'failed'
          ? `Could not page ${who(job)} via ${job.target_name} after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${result?.error ?? 'unknown error'}`
          : `Notification to ${who(job)} via ${job.target_name} not sent: ${reason}`;
    await this.timeline(trx, job, now, message, {
      status,
      attempts: attempt,
      ...(result ? { status_code: result.status, error: result.error, latency_ms: latency } : {}),
    });
    if (status === 'failed') for (const h of this.hooks) await h.deliveryFailed?.(trx, { ...job, status, attempts: attempt }, fx);
    fx.add(() => {
      this.deps.metrics.notifications.inc({ channel: job.channel, outcome: status });
      this.deps.bus.emit('notification.sent', {
        tenant: job.tenant_id,
        incidentId: job.incident_id,
        deliveryId: job.id,
        channel: job.channel,
        userId: job.user_id,
        status,
        attempts: attempt,
        queuedMs: Math.max(0, now - job.created_at),
      });
    });
  }

  private async insertAttempt(trx: Transaction<Database>, jobId: string, attempt: number, at: number, result: DeliveryResult, latency: number): Promise<void> {
    await trx
      .insertInto('notification_attempts')
      .values({ job_id: jobId, attempt, at, ok: result.ok ? 1 : 0, status_code: result.status, error: result.error, latency_ms: latency })
      .onConflict((oc) => oc.columns(['job_id', 'attempt']).doNothing())
      .execute();
  }

  private async timeline(trx: Transaction<Database>, job: NotificationJobsTable, at: number, message: string, data: Record<string, unknown>): Promise<void> {
    if (!job.incident_id) return;
    await appendTimeline(trx, { id: job.incident_id, tenant: job.tenant_id }, {
      at,
      actor: 'system',
      type: 'notification',
      message,
      data: { delivery_id: job.id, channel: job.channel, target: job.target_name, user_id: job.user_id, ...data },
    });
  }

  /** Jobs of an incident with their attempts, for the API. */
  async jobsOf(incidentId: string): Promise<(NotificationJobsTable & { attempts_list: { attempt: number; at: number; ok: boolean; status_code: number | null; error: string | null; latency_ms: number }[] })[]> {
    const db = this.deps.store.db;
    const jobs = await db.selectFrom('notification_jobs').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('id').execute();
    const attempts = jobs.length
      ? await db.selectFrom('notification_attempts').selectAll().where('job_id', 'in', jobs.map((j) => j.id)).orderBy('attempt').execute()
      : [];
    return jobs.map((j) => ({
      ...j,
      attempts_list: attempts
        .filter((a) => a.job_id === j.id)
        .map((a) => ({ attempt: Number(a.attempt), at: Number(a.at), ok: a.ok === 1, status_code: a.status_code, error: a.error, latency_ms: Number(a.latency_ms) })),
    }));
  }
}

function who(job: NotificationJobsTable): string {
  const m = JSON.parse(job.message_json) as NotificationMessage;
  return m.recipient ? m.recipient.name : `channel ${job.target_name}`;
}
