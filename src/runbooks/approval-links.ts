/**
 * Approval requests through people's contact methods: when an approval step starts waiting, each
 * person who may approve it gets a signed, single-use link (notify's one-click link mechanism)
 * that expires with the step's timeout. Opening the link shows what it approves; its buttons POST
 * the decision, which is checked again (the step still waits, the person may still approve) and
 * recorded in the transaction that marks the link used.
 */
import type { Transaction } from 'kysely';
import { KeelError } from '../core/errors.js';
import type { AfterCommit } from '../core/after-commit.js';
import type { LinkGate } from '../paging/notify/link-gate.js';
import type { ApprovalLinkClaims } from '../paging/notify/links.js';
import type { NotifyService } from '../paging/notify/notify-service.js';
import { Directory, type Person } from '../paging/oncall/directory.js';
import { ROLES, type PeopleService } from '../people/people-service.js';
import type { Database, Db } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { RunRecord, RunService } from './runs.js';
import type { RunbookSpec } from './spec.js';

/** Where approval links are opened (GET: the confirmation page; POST: the decision). */
export const APPROVAL_LINK_PATH = '/v1/runbooks/approval-links';

type Approval = NonNullable<RunbookSpec['steps'][number]['approval']>;

/** What a link approves, for its confirmation page. */
export interface ApprovalLinkView {
  run: RunRecord;
  step: { name: string; message: string | null };
  approver: { email: string; name: string };
  expiresAt: number;
}

const rank = (role: string) => ROLES.indexOf(role as (typeof ROLES)[number]);

export class ApprovalLinks {
  constructor(private readonly deps: { db: Db; runs: RunService; notify: NotifyService; people: PeopleService; gate: LinkGate; logger: Logger }) {}

  /** The people who may approve: those named, and the team's members holding at least the role. */
  async approvers(db: Db, tenant: string, approval: Approval): Promise<Person[]> {
    const found = new Map<string, Person>();
    const directory = await Directory.load(db, tenant);
    for (const email of approval.users) {
      const p = await directory.resolve(db, email);
      if (p?.id) found.set(p.id, p);
    }
    if (approval.role) {
      for (const m of await this.deps.people.members(tenant, db)) {
        if (m.disabled || rank(m.role) < rank(approval.role) || found.has(m.id)) continue;
        found.set(m.id, directory.id(m.id) ?? { handle: null, id: m.id, email: m.email, name: m.name, timeZone: m.timeZone });
      }
    }
    return [...found.values()];
  }

  /** The hook of the run service: an approval step of `run` started waiting. */
  async requested(trx: Transaction<Database>, run: RunRecord, stepName: string, fx: AfterCommit): Promise<void> {
    const step = run.spec.steps.find((s) => s.name === stepName);
    const exp = run.state.deadline;
    if (!step?.approval || exp === null) return;
    const incident = run.context.incident ? { id: run.context.incident.id, number: run.context.incident.number } : null;
    for (const person of await this.approvers(trx, run.tenant, step.approval)) {
      const sent = await this.deps.notify.requestApproval(trx, fx, {
        tenant: run.tenant,
        incident,
        person,
        run: { id: run.id, runbook: run.runbook },
        step: { name: step.name, message: step.approval.message ?? null },
        exp,
        linkPath: APPROVAL_LINK_PATH,
      });
      if (sent === 0) this.deps.logger.warn({ run: run.id, step: step.name, approver: person.email }, 'an approver has no contact methods: no approval link sent');
    }
  }

  /** The link's claims: signed, not expired, not used, and for an approval (else a KeelError). */
  async claims(token: string): Promise<ApprovalLinkClaims> {
    const c = await this.deps.gate.claims(token);
    if (c.action !== 'approve') throw new KeelError('bad_request', 'this link is about an incident: open it at /v1/links');
    return c;
  }

  /** What the link approves, checked as the decision will be (so the page never offers a dead end). */
  async show(token: string): Promise<ApprovalLinkView> {
    const claims = await this.claims(token);
    const run = await this.deps.runs.find(claims.tenant, claims.run);
    const { approval } = this.waitingStep(run, claims);
    const approver = await this.approver(this.deps.db, claims, approval);
    return { run, step: { name: claims.step, message: approval.message ?? null }, approver: { email: approver.email, name: approver.name }, expiresAt: claims.exp };
  }

  /** Approves or rejects the step, once: the link is marked used in the decision's transaction. */
  async decide(token: string, approve: boolean): Promise<{ run: RunRecord; actor: string; tenant: string }> {
    const claims = await this.claims(token);
    let actor = `user:${claims.user ?? 'unknown'}`;
    const run = await this.deps.runs.transition(
      claims.run,
      async (current, trx) => {
        const { approval } = this.waitingStep(current, claims);
        const person = await this.approver(trx, claims, approval);
        actor = `user:${person.email}`;
        await this.deps.gate.use(trx, claims);
        return approve ? { type: 'approve', actor } : { type: 'reject', actor, reason: 'rejected from the notification link' };
      },
      { actor, tenant: claims.tenant },
    );
    return { run, actor, tenant: claims.tenant };
  }

  private waitingStep(run: RunRecord, claims: ApprovalLinkClaims): { approval: Approval } {
    const step = run.spec.steps[run.state.step];
    if (run.state.phase !== 'approval' || step?.name !== claims.step || !step.approval) {
      const rec = run.state.steps.find((s) => s.name === claims.step);
      throw new KeelError('conflict', `step ${claims.step} of run ${run.id} no longer waits for an approval (the step is ${rec?.status ?? 'unknown'}, the run ${run.state.status})`);
    }
    return { approval: step.approval };
  }

  /** The person the link was sent to, if they may still approve the step (named, or holding the role now). */
  private async approver(db: Db, claims: ApprovalLinkClaims, approval: Approval): Promise<{ email: string; name: string }> {
    const allowed = claims.user ? (await this.approvers(db, claims.tenant, approval)).find((p) => p.id === claims.user) : undefined;
    if (!allowed) throw new KeelError('forbidden', `the person this link was sent to may no longer approve step ${claims.step}`);
    return { email: allowed.email, name: allowed.name };
  }
}
