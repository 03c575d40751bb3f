/**
 * Delivering notifications: a leader-only worker sends the queued jobs, at-least-once (a crash
 * between sending and recording sends again with the same delivery id). Each attempt is recorded
 * (status, latency) and shows in the incident timeline; failures are retried with exponential
 * backoff and jitter; a job that keeps failing is marked failed and handed to the hooks
 * (escalation moves on to the next step instead of waiting).
 */
import type { Transaction } from 'kysely';
import { BackgroundLoop } from '../../core/background-loop.js';
import type { AfterCommit } from '../../core/after-commit.js';
import { appendTimeline } from '../incidents/timeline.js';
import { prepared } from '../../store/prepared.js';
import type { Database, DbFence } from '../../store/schema.js';
import { backoffDelay } from './backoff.js';
import { deliver, type DeliveryResult } from './deliver.js';
import type { NotificationMessage } from './approval-message.js';
import { isPage } from './message.js';
import type { NotifyDeps, NotifyHooks } from './notify-deps.js';
import type { NotificationJobsTable } from './tables.js';
import type { Target } from './targets.js';
import { SmtpTransports } from './smtp-transports.js';

declare module '../../core/bus.js' {
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

export class DeliveryWorker {
  private readonly hooks: NotifyHooks[] = [];
  private readonly inFlight = new Set<string>();
  /** The delivery loop: one tenure per leadership, fenced by that tenure's fence. */
  private readonly loop: BackgroundLoop<DbFence | undefined>;
  /** When used link tokens were last pruned (0: at the first round of a tenure). */
  private prunedAt = 0;
  /** Pooled SMTP connections, kept across rounds and tenures; closed by stop(). */
  private readonly mailer: SmtpTransports;

  constructor(private readonly deps: NotifyDeps) {
    this.mailer = new SmtpTransports({ timeoutMs: deps.config.timeoutMs, logger: deps.logger });
    this.loop = new BackgroundLoop(
      (tenure) => this.round(tenure.context),
      (err, failures) => {
        deps.logger.error({ err }, 'notification worker failed; retrying');
        return Math.min(5000, 100 * 2 ** (failures - 1));
      },
    );
  }

  addHooks(h: NotifyHooks): void {
    this.hooks.push(h);
  }

  wake(): void {
    this.loop.wake();
  }

  /** Runs the delivery loop (leader only) until stop(); its transactions check `fence` first. */
  run(fence?: DbFence): void {
    this.prunedAt = 0;
    void this.loop.run(fence);
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    while (this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 10));
    this.mailer.closeAll();
  }

  /** One round: start the due deliveries there is room for; returns how long to wait for the next. */
  private async round(fence: DbFence | undefined): Promise<number> {
    const { store, clock, config } = this.deps;
    let waitMs = config.pollIntervalMs;
    // Used link tokens only matter until they would have expired anyway.
    if (clock.now() - this.prunedAt > 10 * 60_000) {
      this.prunedAt = clock.now();
      await store.db.deleteFrom('used_link_tokens').where('expires_at', '<', this.prunedAt).execute();
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
        const cleared = this.clear(fresh, fence);
        for (const job of fresh) {
          void this.attempt(job, cleared, fence).finally(() => {
            this.inFlight.delete(job.id);
            this.wake();
          });
        }
      }
      if (fresh.length === 0) {
        // Sleep until the next job not already being delivered is due; a delivery that
        // finishes (or a new job) wakes the loop earlier.
        let nq = store.db
          .selectFrom('notification_jobs')
          .select((eb) => eb.fn.min('next_attempt_at').as('t'))
          .where('status', '=', 'pending');
        if (busy.length) nq = nq.where('id', 'not in', busy);
        const next = await nq.executeTakeFirst();
        if (next?.t !== null && next?.t !== undefined) waitMs = Math.max(1, Math.min(waitMs, Number(next.t) - now));
      } else waitMs = 0;
    }
    return waitMs;
  }

  /**
   * Before a set of jobs is sent: a deposed leader (one resuming after a stall, its lease gone)
   * must not page, so the lease is checked against the store just before the deliveries, in the
   * transaction that reads the states of their incidents. Undefined: do not send.
   */
  private async clear(jobs: NotificationJobsTable[], fence: DbFence | undefined): Promise<Map<string, string> | undefined> {
    const { store, logger } = this.deps;
    const ids = [...new Set(jobs.map((j) => j.incident_id).filter((id): id is string => id !== null))];
    try {
      return await store.db.transaction().execute(async (trx) => {
        try {
          await fence?.(trx);
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

  private async attempt(job: NotificationJobsTable, cleared: Promise<Map<string, string> | undefined>, fence: DbFence | undefined): Promise<void> {
    const { clock, logger } = this.deps;
    const states = await cleared;
    if (!states) return;
    try {
      const state = job.incident_id ? states.get(job.incident_id) : undefined;
      const message = JSON.parse(job.message_json) as NotificationMessage;
      // A page is for an unacknowledged incident: once someone acknowledged (or it resolved),
      // pages still waiting (delayed rules, retries) are dropped.
      if (state !== undefined && state !== 'triggered' && isPage(message)) {
        await this.record({ job, status: 'canceled', result: null, latency: 0, reason: `incident is ${state}` }, fence);
        return;
      }
      const started = performance.now();
      const result = await deliver(
        { id: job.id, tenant: job.tenant_id, target: JSON.parse(job.target_json) as Target, message },
        { secrets: this.deps.secrets, smtp: this.deps.smtp, mailer: this.mailer, timeoutMs: this.deps.config.timeoutMs, now: () => clock.now() },
      );
      const latency = Math.round((performance.now() - started) * 10) / 10;
      this.deps.metrics.deliverySeconds.observe({ channel: job.channel }, latency / 1000);
      await this.record(this.outcome(job, result, latency), fence);
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

  private readonly toRecord: { outcome: Outcome; fence: DbFence | undefined; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private recording = false;

  /**
   * Records an outcome; resolves once it is committed. Outcomes that arrive together (deliveries
   * answered in the same turn of the event loop, or while the previous batch was being written)
   * are recorded in one transaction: one commit for many deliveries. Until its outcome is
   * committed a job stays pending and in flight, so it is neither fetched again nor lost.
   */
  private record(outcome: Outcome, fence: DbFence | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      this.toRecord.push({ outcome, fence, resolve, reject });
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
          // The fence of each tenure whose deliveries are in the batch (one, unless a tenure
          // ended while its last outcomes waited).
          for (const fence of new Set(batch.map((b) => b.fence))) await fence?.(trx);
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
                await b.fence?.(trx);
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
    // A pending job was never sent (sent_at is null), so writing null there for any other end is no change.
    const ended = { id: job.id, status, attempts: attempt, now, sentAt: status === 'sent' ? now : null };
    const changed = result
      ? await endWithAttempt.run(trx, { ...ended, error: result.error, statusCode: result.status, latency })
      : await endWithoutAttempt.run(trx, { ...ended, error: reason ?? null });
    if (changed === 0) return;
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
    await insertAttempt.run(trx, { jobId, attempt, at, ok: result.ok ? 1 : 0, statusCode: result.status, error: result.error, latency });
  }

  private async timeline(trx: Transaction<Database>, job: NotificationJobsTable, at: number, message: string, data: Record<string, unknown>): Promise<void> {
    if (!job.incident_id) return;
    await appendTimeline(
      trx,
      { id: job.incident_id, tenant: job.tenant_id },
      {
        at,
        actor: 'system',
        type: 'notification',
        message,
        data: { delivery_id: job.id, channel: job.channel, target: job.target_name, user_id: job.user_id, ...data },
      },
    );
  }
}

function who(job: NotificationJobsTable): string {
  const m = JSON.parse(job.message_json) as NotificationMessage;
  return m.recipient ? m.recipient.name : `channel ${job.target_name}`;
}

// The statements of every delivery of a storm, compiled once (store/prepared.ts). Both end a job
// only while it is pending: a job another process ended first is not ended twice.
const endWithAttempt = prepared((db, p: { id: string; status: string; attempts: number; now: number; sentAt: number | null; error: string | null; statusCode: number | null; latency: number }) =>
  db
    .updateTable('notification_jobs')
    .set({ status: p.status, attempts: p.attempts, updated_at: p.now, sent_at: p.sentAt, last_error: p.error, last_status: p.statusCode, latency_ms: p.latency })
    .where('id', '=', p.id)
    .where('status', '=', 'pending'),
);
/** Ended without trying (e.g. the incident was resolved): the last attempt's status and latency stay. */
const endWithoutAttempt = prepared((db, p: { id: string; status: string; attempts: number; now: number; sentAt: number | null; error: string | null }) =>
  db.updateTable('notification_jobs').set({ status: p.status, attempts: p.attempts, updated_at: p.now, sent_at: p.sentAt, last_error: p.error }).where('id', '=', p.id).where('status', '=', 'pending'),
);
const insertAttempt = prepared((db, p: { jobId: string; attempt: number; at: number; ok: number; statusCode: number | null; error: string | null; latency: number }) =>
  db
    .insertInto('notification_attempts')
    .values({ job_id: p.jobId, attempt: p.attempt, at: p.at, ok: p.ok, status_code: p.statusCode, error: p.error, latency_ms: p.latency })
    .onConflict((oc) => oc.columns(['job_id', 'attempt']).doNothing()),
);
