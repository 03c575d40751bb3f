/**
 * Notifications as an outbox, one service for the rest of paging: queueing (queueing.ts) creates
 * jobs inside the caller's transaction, so creating a page is exactly-once; delivery (delivery.ts)
 * is the leader-only worker that sends them, at-least-once, with retries, and hands a job that
 * failed for good to the hooks (escalation moves on to the next step instead of waiting).
 */
import type { Transaction } from 'kysely';
import type { AfterCommit } from '../../core/after-commit.js';
import type { Incident } from '../incidents/incident-service.js';
import type { Person } from '../oncall/directory.js';
import type { Database, DbFence } from '../../store/schema.js';
import { DeliveryWorker } from './delivery.js';
import type { EscalationContext, NotifyDeps, NotifyHooks } from './notify-deps.js';
import { NotificationQueue } from './queueing.js';
import type { Target } from './targets.js';

export type { EscalationContext, NotifyConfig, NotifyDeps, NotifyHooks } from './notify-deps.js';

export class NotifyService {
  private readonly delivery: DeliveryWorker;
  private readonly queue: NotificationQueue;

  constructor(deps: NotifyDeps) {
    this.delivery = new DeliveryWorker(deps);
    this.queue = new NotificationQueue(deps, () => this.delivery.wake());
  }

  /** The link-signing key for verifying links; undefined while no link was ever issued. */
  verificationKey(): Promise<Buffer | undefined> {
    return this.queue.verificationKey();
  }

  addHooks(h: NotifyHooks): void {
    this.delivery.addHooks(h);
  }

  wake(): void {
    this.delivery.wake();
  }

  /** Pages a person: one job per notification rule (delayed rules wait), within `trx`. */
  pagePerson(trx: Transaction<Database>, incident: Incident, person: Person, esc: EscalationContext | null, fx: AfterCommit): Promise<number> {
    return this.queue.pagePerson(trx, incident, person, esc, fx);
  }

  /** Asks a person to approve a runbook step, within `trx` (see NotificationQueue.requestApproval). */
  requestApproval(trx: Transaction<Database>, fx: AfterCommit, r: Parameters<NotificationQueue['requestApproval']>[2]): Promise<number> {
    return this.queue.requestApproval(trx, fx, r);
  }

  incidentStateChanged(trx: Transaction<Database>, incident: Incident, actor: string, fx: AfterCommit): Promise<void> {
    return this.queue.incidentStateChanged(trx, incident, actor, fx);
  }

  notifyChannel(trx: Transaction<Database>, incident: Incident, name: string, target: Target, esc: EscalationContext | null, fx: AfterCommit): Promise<number> {
    return this.queue.notifyChannel(trx, incident, name, target, esc, fx);
  }

  /** Jobs of an incident with their attempts, for the API. */
  jobsOf(incidentId: string): ReturnType<NotificationQueue['jobsOf']> {
    return this.queue.jobsOf(incidentId);
  }

  /** Runs the delivery loop (leader only) until stop(); its transactions check `fence` first. */
  run(fence?: DbFence): void {
    this.delivery.run(fence);
  }

  stop(): Promise<void> {
    return this.delivery.stop();
  }
}
