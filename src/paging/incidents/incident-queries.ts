/**
 * The read side of incidents for the routes: an incident with its roles, alerts, escalation and
 * action items; people named in a request; the metrics over a range. Other domains' tables are
 * read through their own query functions (alerting, escalation, notify, oncall, definitions).
 */
import { alertsByIds } from '../../alerting/alert-queries.js';
import { iso } from '../../core/time-input.js';
import { fieldError } from '../../core/errors.js';
import { readSpec } from '../../definitions/read-specs.js';
import type { EscalationProgress } from '../escalation/escalation-queries.js';
import type { PageRecord } from '../notify/page-history.js';
import { Directory } from '../oncall/directory.js';
import type { Db } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import type { ActionItem, ActionItems, ActionStatus } from './action-items.js';
import { incidentServices, incidentServicesOpened, readIncidentFacts } from './incident-facts.js';
import type { Incident, IncidentService } from './incident-service.js';
import { incidentMetrics } from './metrics.js';
import { readTimeline, type TimelineType } from './timeline.js';
import { actionItemView, incidentView, timelineView } from './views.js';

/**
 * Reads of the domains that act on incidents (escalation, notify), passed in by the wiring:
 * they import incidents, so incidents does not import them.
 */
export interface IncidentReadsElsewhere {
  escalationProgress(db: Db, incidentId: string): Promise<EscalationProgress | null>;
  pagesBetween(db: Db, tenant: string, from: number, to: number): Promise<PageRecord[]>;
}

export class IncidentQueries {
  constructor(
    private readonly store: Store,
    private readonly incidents: IncidentService,
    private readonly actions: ActionItems,
    private readonly elsewhere: IncidentReadsElsewhere,
  ) {}

  private get db() {
    return this.store.db;
  }

  /** An incident by id or number (404 otherwise). */
  require(tenant: string, ref: string): Promise<Incident> {
    return this.incidents.require(this.db, tenant, ref);
  }

  /** The incident as `GET /v1/incidents/:id` shows it. */
  async detail(i: Incident) {
    const db = this.db;
    const directory = await Directory.load(db, i.tenant);
    const roles = await this.incidents.roles(db, i.id);
    const person = async (id: string) => {
      const p = await directory.resolve(db, id);
      return p ? { user_id: id, email: p.email, name: p.name, handle: p.handle } : { user_id: id };
    };
    const alertIds = (await db.selectFrom('incident_alerts').select('alert_id').where('incident_id', '=', i.id).execute()).map((r) => r.alert_id);
    const alerts = await alertsByIds(db, alertIds);
    const esc = await this.elsewhere.escalationProgress(db, i.id);
    const items = await this.actions.list(db, i.tenant, { incidentId: i.id });
    return {
      ...incidentView(i),
      roles: Object.fromEntries(await Promise.all(roles.map(async (r) => [r.role, await person(r.userId)] as const))),
      alerts: alerts.map((a) => ({
        id: a.id,
        summary: a.summary,
        severity: a.severity,
        source: a.source,
        status: a.status,
        count: a.count,
        dedup_key: a.dedupKey,
        first_seen: iso(a.firstSeen),
        last_seen: iso(a.lastSeen),
      })),
      escalation: esc
        ? { policy: esc.policy, status: esc.status, pass: esc.pass, step: esc.step, next: esc.next ? { pass: esc.next.pass, step: esc.next.step, at: iso(esc.next.dueAt) } : null }
        : null,
      action_items: await this.actionItemViews(i.tenant, items, directory),
    };
  }

  /** A person named in a request (User name, email or user id) who has a user record; 400 at `path` otherwise. */
  async person(tenant: string, ref: string, path: string): Promise<{ id: string; label: string }> {
    const p = await (await Directory.load(this.db, tenant)).resolve(this.db, ref);
    if (!p?.id) throw fieldError(path, `no user "${ref}" (a User name, email or user id)`, 'unknown user');
    return { id: p.id, label: Directory.label(p) };
  }

  /**
   * The escalation policy a declared incident pages through: the service's (when `page`), or the
   * one named; 400 for an unknown service or policy.
   */
  async declaredPolicy(tenant: string, body: { service?: string | undefined; escalationPolicy?: string | undefined; page: boolean }): Promise<string | null> {
    let policy: string | null = null;
    if (body.service) {
      const svc = await readSpec<{ escalationPolicy?: string }>(this.db, tenant, 'Service', body.service);
      if (!svc) throw fieldError('service', `no Service named "${body.service}"`, 'unknown service');
      if (body.page) policy = svc.escalationPolicy ?? null;
    }
    if (body.escalationPolicy) {
      if (!(await readSpec(this.db, tenant, 'EscalationPolicy', body.escalationPolicy))) {
        throw fieldError('escalationPolicy', `no EscalationPolicy named "${body.escalationPolicy}"`, 'unknown policy');
      }
      policy = body.page ? body.escalationPolicy : null;
    }
    return policy;
  }

  async timeline(i: Incident, types: TimelineType[] | undefined) {
    return (await readTimeline(this.db, i.id, types ? { types } : {})).map(timelineView);
  }

  async actionItemViews(tenant: string, items: ActionItem[], directory?: Directory) {
    const dir = directory ?? (await Directory.load(this.db, tenant));
    return Promise.all(items.map(async (a) => actionItemView(a, a.ownerUserId ? await dir.resolve(this.db, a.ownerUserId) : undefined)));
  }

  async actionItemView(tenant: string, item: ActionItem) {
    return (await this.actionItemViews(tenant, [item]))[0]!;
  }

  /** Action items of one incident, or across incidents by status and owner (a User name, email or user id). */
  async listActionItems(tenant: string, filter: { incidentId?: string; status?: ActionStatus[]; owner?: string }) {
    const directory = await Directory.load(this.db, tenant);
    const owner = filter.owner ? ((await directory.resolve(this.db, filter.owner))?.id ?? '(nobody)') : undefined;
    const items = await this.actions.list(this.db, tenant, {
      ...(filter.incidentId ? { incidentId: filter.incidentId } : {}),
      ...(filter.status ? { status: filter.status } : {}),
      ...(owner ? { owner } : {}),
    });
    return this.actionItemViews(tenant, items, directory);
  }

  /** MTTA, MTTR, severities and pages per person over incidents opened (and pages sent) in [from, to). */
  async metrics(tenant: string, from: number, to: number, service: string | undefined) {
    const db = this.db;
    const facts = await readIncidentFacts(db, { tenant, from, to, ...(service !== undefined ? { service } : {}) });
    let pages = await this.elsewhere.pagesBetween(db, tenant, from, to);
    if (service !== undefined) {
      // Most pages in a range are of incidents opened in it: their services come from one read of
      // the range; only incidents opened before it are looked up by id (a year of one service's
      // metrics read the services of its 10,000 pages' incidents by id, 500 at a time, before).
      const services = await incidentServicesOpened(db, tenant, from, to);
      const before = [...new Set(pages.map((p) => p.incidentId))].filter((id) => !services.has(id));
      for (const [id, s] of await incidentServices(db, before)) services.set(id, s);
      pages = pages.filter((p) => services.get(p.incidentId) === service);
    }
    const directory = await Directory.load(db, tenant);
    const label = new Map<string, string>();
    for (const p of pages) {
      if (!label.has(p.userId)) label.set(p.userId, (await directory.resolve(db, p.userId))?.email ?? p.userId);
    }
    return incidentMetrics(
      facts,
      pages.map((p) => ({ user: label.get(p.userId)!, at: p.at })),
      from,
      to,
    );
  }
}
