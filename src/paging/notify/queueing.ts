/**
 * Queueing notifications: escalation (and incident changes) create jobs inside their own
 * transaction, so creating a page is exactly-once; each job carries its rendered message with
 * signed one-click links. The delivery worker (delivery.ts) sends them.
 */
import type { Kysely, Transaction } from 'kysely';
import { timeOrderedId } from '../../core/ids.js';
import type { AfterCommit } from '../../core/after-commit.js';
import type { Incident } from '../incidents/incident-service.js';
import { appendTimeline } from '../incidents/timeline.js';
import { Directory, type Person } from '../oncall/directory.js';
import { prepared, wholeRow } from '../../store/prepared.js';
import type { Database } from '../../store/schema.js';
import { ensureLinkKey, readLinkKey } from './link-key.js';
import { signLink } from './links.js';
import type { ApprovalMessage, NotificationMessage } from './approval-message.js';
import { isPage, type PageMessage, type SloPageDetails } from './message.js';
import type { EscalationContext, NotifyDeps } from './notify-deps.js';
import type { NotificationJobsTable } from './tables.js';
import { describeTarget, type Target } from './targets.js';

type Db = Kysely<Database> | Transaction<Database>;

export class NotificationQueue {
  /** Cached once known to be committed. */
  private linkKey: Buffer | undefined;

  constructor(
    private readonly deps: NotifyDeps,
    /** Wakes the delivery worker (after the jobs' transaction committed). */
    private readonly wake: () => void,
  ) {}

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
  private readonly rulesRead = new WeakMap<Transaction<Database>, Map<string, ReturnType<NotificationQueue['readRules']>>>();

  /** A person's contact methods in the order of their notification rules, with each rule's delay. */
  private rulesOf(trx: Transaction<Database>, tenant: string, userId: string): ReturnType<NotificationQueue['readRules']> {
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
    r: {
      tenant: string;
      incident: { id: string; number: number } | null;
      person: Person;
      run: { id: string; runbook: string };
      step: { name: string; message: string | null };
      exp: number;
      linkPath: string;
    },
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
      await this.insertJob(
        trx,
        { tenant: r.tenant, id: r.incident?.id ?? null },
        { userId: r.person.id, targetName: rule.name, target: JSON.parse(rule.config_json) as Target, message, delayMs: 0, esc: null },
      );
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
    const id = timeOrderedId('dlv', now);
    await insertJobRow.run(trx, {
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
    });
    return id;
  }

  private async buildMessage(db: Db, incident: Incident, recipient: PageMessage['recipient'], esc: EscalationContext | null): Promise<PageMessage> {
    const alerts = await latestAlerts.rows(db, { incident: incident.id });
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

  /** Jobs of an incident with their attempts, for the API. */
  async jobsOf(
    incidentId: string,
  ): Promise<(NotificationJobsTable & { attempts_list: { attempt: number; at: number; ok: boolean; status_code: number | null; error: string | null; latency_ms: number }[] })[]> {
    const db = this.deps.store.db;
    const jobs = await db.selectFrom('notification_jobs').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('id').execute();
    const attempts = jobs.length
      ? await db
          .selectFrom('notification_attempts')
          .selectAll()
          .where(
            'job_id',
            'in',
            jobs.map((j) => j.id),
          )
          .orderBy('attempt')
          .execute()
      : [];
    return jobs.map((j) => ({
      ...j,
      attempts_list: attempts
        .filter((a) => a.job_id === j.id)
        .map((a) => ({ attempt: Number(a.attempt), at: Number(a.at), ok: a.ok === 1, status_code: a.status_code, error: a.error, latency_ms: Number(a.latency_ms) })),
    }));
  }
}

// The statements of every page of a storm, compiled once (store/prepared.ts).
const insertJobRow = prepared((db, p: NotificationJobsTable) =>
  db.insertInto('notification_jobs').values(
    wholeRow(p, {
      id: true,
      tenant_id: true,
      incident_id: true,
      user_id: true,
      target_name: true,
      channel: true,
      target_json: true,
      message_json: true,
      status: true,
      kind: true,
      attempts: true,
      next_attempt_at: true,
      created_at: true,
      updated_at: true,
      sent_at: true,
      last_error: true,
      last_status: true,
      latency_ms: true,
      pass: true,
      step: true,
    }),
  ),
);
/** The incident's five latest alerts, for a page's text and links. */
const latestAlerts = prepared((db, p: { incident: string }) =>
  db
    .selectFrom('incident_alerts')
    .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
    .select(['alerts.summary', 'alerts.severity', 'alerts.source', 'alerts.links_json', 'alerts.labels_json', 'alerts.details_json'])
    .where('incident_alerts.incident_id', '=', p.incident)
    .orderBy('incident_alerts.attached_at', 'desc')
    .limit(5),
);
