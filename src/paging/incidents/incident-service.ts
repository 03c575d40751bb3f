/**
 * The incident lifecycle: open (by an alert or by hand), attach alerts, move through
 * triggered → acknowledged → mitigated → resolved (→ closed once a postmortem exists), change
 * severity and title, assign roles. Every change appends to the timeline in the same
 * transaction. Other domains plug in through hooks that run inside those transactions
 * (escalation starts on open and stops on acknowledge/resolve), and after commit the change is
 * published on the bus as `incident.changed`.
 */
import { sql, type Transaction } from 'kysely';
import type { Bus } from '../../core/bus.js';
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import { timeOrderedId } from '../../core/ids.js';
import { prepared, wholeRow } from '../../store/prepared.js';
import type { Database, Db } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import { inRetriedTransaction, type AfterCommit } from '../../core/after-commit.js';
import type { PagingMetrics } from './prometheus.js';
import type { IncidentsTable } from './tables.js';
import { appendTimeline, type TimelineInput } from './timeline.js';

export const INCIDENT_STATES = ['triggered', 'acknowledged', 'mitigated', 'resolved', 'closed'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];
export const OPEN_STATES: readonly IncidentState[] = ['triggered', 'acknowledged', 'mitigated'];
/** `state in (<OPEN_STATES>)` as literals, in the order of the partial index incidents_open_opened's WHERE (migration 0820). */
export const OPEN_STATES_SQL = sql<boolean>`state in (${sql.join(OPEN_STATES.map((s) => sql.lit(s)))})`;

// The statements of every incident a storm opens, compiled once (store/prepared.ts).
const openIncidentFor = prepared((db, p: { tenant: string; service: string; groupingKey: string }) =>
  db
    .selectFrom('incidents')
    .selectAll()
    .where('tenant_id', '=', p.tenant)
    .where('service', '=', p.service)
    .where('grouping_key', '=', p.groupingKey)
    .where(OPEN_STATES_SQL)
    .orderBy('opened_at', 'desc')
    .limit(1),
);
const nextIncidentNumber = prepared((db, p: { tenant: string }) =>
  db
    .insertInto('incident_counters')
    .values({ tenant_id: p.tenant, last: 1 })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet((eb) => ({ last: eb(eb.ref('incident_counters.last'), '+', 1) })))
    .returning('last'),
);
const insertIncident = prepared((db, p: IncidentsTable) =>
  db.insertInto('incidents').values(
    wholeRow(p, {
      id: true,
      tenant_id: true,
      number: true,
      title: true,
      summary: true,
      service: true,
      severity: true,
      state: true,
      grouping_key: true,
      escalation_policy: true,
      opened_at: true,
      acknowledged_at: true,
      mitigated_at: true,
      resolved_at: true,
      closed_at: true,
      created_by: true,
      unpaged_reason: true,
      unpaged_at: true,
    }),
  ),
);
const attach = prepared((db, p: { incident: string; alert: string; tenant: string; at: number }) =>
  db
    .insertInto('incident_alerts')
    .values({ incident_id: p.incident, alert_id: p.alert, tenant_id: p.tenant, attached_at: p.at })
    .onConflict((oc) => oc.columns(['incident_id', 'alert_id']).doNothing()),
);

function sameStates(a: readonly IncidentState[], b: readonly IncidentState[]): boolean {
  const set = new Set(a);
  return set.size === b.length && b.every((s) => set.has(s));
}

export interface IncidentListFilter {
  states?: IncidentState[];
  service?: string;
  severities?: Incident['severity'][];
  before?: { openedAt: number; number: number };
  limit?: number;
  from?: number;
  to?: number;
}

export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const ROLES = ['commander', 'communications', 'scribe'] as const;
export type IncidentRole = (typeof ROLES)[number];

const NEXT: Record<IncidentState, readonly IncidentState[]> = {
  triggered: ['acknowledged', 'mitigated', 'resolved'],
  acknowledged: ['mitigated', 'resolved'],
  mitigated: ['resolved'],
  resolved: ['closed'],
  closed: [],
};

export interface Incident {
  id: string;
  tenant: string;
  number: number;
  title: string;
  summary: string;
  service: string | null;
  severity: Severity;
  state: IncidentState;
  groupingKey: string | null;
  escalationPolicy: string | null;
  openedAt: number;
  acknowledgedAt: number | null;
  mitigatedAt: number | null;
  resolvedAt: number | null;
  closedAt: number | null;
  createdBy: string;
  /** Set when the incident paged nobody: why, and since when. */
  unpaged: { reason: string; at: number } | null;
}

export type IncidentChange = 'opened' | 'alert' | 'state' | 'severity' | 'updated' | 'role' | 'note' | 'postmortem' | 'action_item';

declare module '../../core/bus.js' {
  interface BusEvents {
    /** After commit: an incident opened or changed (state, severity, roles, notes...). */
    'incident.changed': { tenant: string; incident: Incident; change: IncidentChange; actor: string; from?: IncidentState };
  }
}

export interface OpenInput {
  tenant: string;
  title: string;
  summary?: string;
  service: string | null;
  severity: Severity;
  groupingKey?: string | null;
  escalationPolicy?: string | null;
  createdBy: string;
  at?: number;
  /**
   * Whoever opened it expects people to be paged (an alert, or a declaration without `page: false`):
   * with no escalation policy to follow, the incident is then marked as having paged nobody.
   */
  expectsPaging?: boolean;
}

/** Work other domains do inside an incident transaction. */
export interface IncidentHooks {
  opened?(trx: Transaction<Database>, incident: Incident, fx: AfterCommit, opened: { expectsPaging: boolean }): Promise<void>;
  stateChanged?(trx: Transaction<Database>, incident: Incident, from: IncidentState, actor: string, fx: AfterCommit): Promise<void>;
  /** The caller is done with the incidents of this transaction and is about to commit (see `settle`). */
  settle?(trx: Transaction<Database>, fx: AfterCommit): Promise<void>;
}

/**
 * Actors that are not people: their mitigations and resolutions do not count as acknowledgements
 * for MTTA. A runbook step (`runbook:NAME`) is automation acting, not a person responding: counting
 * it would make MTTA look better the more incidents automation closes before anyone looks.
 */
export function isAutomatic(actor: string): boolean {
  return actor === 'system' || actor.startsWith('integration:') || actor.startsWith('runbook:');
}

export class IncidentService {
  private readonly hooks: IncidentHooks[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly bus: Bus,
    private readonly metrics?: PagingMetrics,
  ) {}

  addHooks(h: IncidentHooks): void {
    this.hooks.push(h);
  }

  /**
   * Called by a caller that opened incidents and attached their alerts, just before it commits:
   * the hooks finish what waited for the incidents to be complete (escalation fires the first
   * steps it started, so their pages carry the alerts).
   */
  async settle(trx: Transaction<Database>, fx: AfterCommit): Promise<void> {
    for (const h of this.hooks) await h.settle?.(trx, fx);
  }

  /**
   * Runs `fn` in a transaction and its after-commit effects once it committed. A unique clash
   * (two writers racing on PostgreSQL) is retried.
   */
  async inTransaction<T>(fn: (trx: Transaction<Database>, fx: AfterCommit) => Promise<T>): Promise<T> {
    return inRetriedTransaction(this.store.db, fn, (e, attempt) => attempt < 5 && isUniqueViolation(e));
  }

  async find(db: Db, tenant: string, ref: string): Promise<Incident | undefined> {
    const number = /^#?(\d{1,9})$/.exec(ref);
    let q = db.selectFrom('incidents').selectAll().where('tenant_id', '=', tenant);
    q = number ? q.where('number', '=', Number(number[1])) : q.where('id', '=', ref);
    const row = await q.executeTakeFirst();
    return row && toIncident(row);
  }

  async require(db: Db, tenant: string, ref: string): Promise<Incident> {
    const i = await this.find(db, tenant, ref);
    if (!i) throw new KeelError('not_found', `incident ${ref} not found`);
    return i;
  }

  /**
   * Newest first (opening time, then number). `before` is the last incident of the previous page:
   * the next page starts after it, so paging never skips or repeats an incident and costs one
   * index range scan however deep it goes.
   */
  async list(tenant: string, filter: IncidentListFilter = {}): Promise<Incident[]> {
    return (await this.listQuery(tenant, filter).execute()).map(toIncident);
  }

  /** The query of `list` (tests read its plan). */
  listQuery(tenant: string, filter: IncidentListFilter = {}) {
    let q = this.store.db.selectFrom('incidents').selectAll().where('tenant_id', '=', tenant).orderBy('opened_at', 'desc').orderBy('number', 'desc');
    // The open ones as the literal list of the partial index incidents_open_opened (migration
    // 0820): SQLite matches a partial index's WHERE against the query's terms, never against
    // bound parameters.
    if (filter.states?.length) q = sameStates(filter.states, OPEN_STATES) ? q.where(OPEN_STATES_SQL) : q.where('state', 'in', filter.states);
    if (filter.service) q = q.where('service', '=', filter.service);
    if (filter.severities?.length) q = q.where('severity', 'in', filter.severities);
    const before = filter.before;
    // The redundant `opened_at <= before` lets the store seek in the index (tenant_id, opened_at,
    // number) instead of walking to the cursor from the newest incident (migration 0780).
    if (before) q = q.where('opened_at', '<=', before.openedAt).where((eb) => eb.or([eb('opened_at', '<', before.openedAt), eb('number', '<', before.number)]));
    if (filter.from !== undefined) q = q.where('opened_at', '>=', filter.from);
    if (filter.to !== undefined) q = q.where('opened_at', '<', filter.to);
    return q.limit(filter.limit ?? 100);
  }

  /** The open incident of a service with this grouping key, if any. */
  async openFor(db: Db, tenant: string, service: string, groupingKey: string): Promise<Incident | undefined> {
    const row = await openIncidentFor.first(db, { tenant, service, groupingKey });
    return row && toIncident(row);
  }

  async open(trx: Transaction<Database>, input: OpenInput, fx: AfterCommit): Promise<Incident> {
    const at = input.at ?? this.clock.now();
    // An upsert on the tenant's counter row: concurrent opens queue on that row (PostgreSQL) or
    // on the single writer (SQLite) instead of racing for the same number.
    const [counter] = await nextIncidentNumber.rows(trx, { tenant: input.tenant });
    if (!counter) throw new Error('incident_counters: the upsert returned no number');
    const row: IncidentsTable = {
      id: timeOrderedId('inc', this.clock.now()),
      tenant_id: input.tenant,
      number: Number(counter.last),
      title: input.title,
      summary: input.summary ?? '',
      service: input.service,
      severity: input.severity,
      state: 'triggered',
      grouping_key: input.groupingKey ?? null,
      escalation_policy: input.escalationPolicy ?? null,
      opened_at: at,
      acknowledged_at: null,
      mitigated_at: null,
      resolved_at: null,
      closed_at: null,
      created_by: input.createdBy,
      unpaged_reason: null,
      unpaged_at: null,
    };
    await insertIncident.run(trx, row);
    const incident = toIncident(row);
    await appendTimeline(trx, incident, {
      at,
      actor: input.createdBy,
      type: 'state',
      message: `Incident #${incident.number} opened (${incident.severity}): ${incident.title}`,
      data: { state: 'triggered', severity: incident.severity, service: incident.service, escalation_policy: incident.escalationPolicy },
    });
    const expectsPaging = input.expectsPaging ?? input.createdBy.startsWith('integration:');
    for (const h of this.hooks) await h.opened?.(trx, incident, fx, { expectsPaging });
    fx.add(() => {
      this.metrics?.incidentsOpened.inc({ tenant: incident.tenant, service: incident.service ?? '', severity: incident.severity });
      this.bus.emit('incident.changed', { tenant: incident.tenant, incident, change: 'opened', actor: input.createdBy });
    });
    return incident;
  }

  /** Moves the incident to `to`; 409 when that is not a next state of the current one. */
  async transition(trx: Transaction<Database>, incident: Incident, to: IncidentState, actor: string, fx: AfterCommit, note?: string): Promise<Incident> {
    const from = incident.state;
    if (from === to) throw new KeelError('conflict', `incident #${incident.number} is already ${to}`);
    if (!NEXT[from].includes(to)) {
      throw new KeelError('conflict', `incident #${incident.number} is ${from}; it can go to ${NEXT[from].join(', ') || 'no other state'}, not ${to}`);
    }
    const at = this.clock.now();
    if (to === 'closed') {
      const pm = await trx.selectFrom('incident_postmortems').select('incident_id').where('incident_id', '=', incident.id).executeTakeFirst();
      if (!pm) throw new KeelError('conflict', `incident #${incident.number} has no postmortem yet; write one first (keel incidents postmortem ${incident.number})`);
    }
    const set: Partial<IncidentsTable> = { state: to };
    const responded = to === 'acknowledged' || ((to === 'mitigated' || to === 'resolved') && !isAutomatic(actor));
    if (responded && incident.acknowledgedAt === null) set.acknowledged_at = at;
    if (to === 'mitigated') set.mitigated_at = at;
    if (to === 'resolved') set.resolved_at = at;
    if (to === 'closed') set.closed_at = at;
    // Guarded by the state read: a concurrent change makes this update a no-op, reported as 409.
    const r = await trx.updateTable('incidents').set(set).where('id', '=', incident.id).where('state', '=', from).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new KeelError('conflict', `incident #${incident.number} changed meanwhile; try again`);
    const after: Incident = toIncident({ ...toRow(incident), ...set } as IncidentsTable);
    await appendTimeline(trx, after, {
      at,
      actor,
      type: 'state',
      message: `${capitalise(to)}${note ? `: ${note}` : ''}`,
      data: { from, to, ...(note ? { note } : {}) },
    });
    for (const h of this.hooks) await h.stateChanged?.(trx, after, from, actor, fx);
    fx.add(() => {
      const labels = { tenant: after.tenant, service: after.service ?? '' };
      if (set.acknowledged_at !== undefined) this.metrics?.timeToAck.observe(labels, (at - after.openedAt) / 1000);
      if (to === 'resolved') this.metrics?.timeToResolve.observe(labels, (at - after.openedAt) / 1000);
      this.bus.emit('incident.changed', { tenant: after.tenant, incident: after, change: 'state', actor, from });
    });
    return after;
  }

  /**
   * An acknowledgement timed out (the policy's `acknowledgementTimeout`) while the incident's alerts
   * still fire: back to triggered, so escalation pages again. Not a transition people can ask for.
   */
  async retrigger(trx: Transaction<Database>, incident: Incident, reason: string, fx: AfterCommit): Promise<Incident> {
    const at = this.clock.now();
    const r = await trx.updateTable('incidents').set({ state: 'triggered' }).where('id', '=', incident.id).where('state', '=', 'acknowledged').executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return incident;
    const after: Incident = { ...incident, state: 'triggered' };
    await appendTimeline(trx, after, { at, actor: 'system', type: 'state', message: `Triggered again: ${reason}`, data: { from: 'acknowledged', to: 'triggered', reason } });
    fx.add(() => this.bus.emit('incident.changed', { tenant: after.tenant, incident: after, change: 'state', actor: 'system', from: 'acknowledged' }));
    return after;
  }

  async attachAlert(
    trx: Transaction<Database>,
    incident: Incident,
    alert: { id: string; summary: string; severity: string; source: string; dedupKey: string },
    at: number,
    fx: AfterCommit,
    suppressedBy: string | null = null,
  ): Promise<void> {
    await attach.run(trx, { incident: incident.id, alert: alert.id, tenant: incident.tenant, at });
    await appendTimeline(trx, incident, {
      at,
      actor: `integration:${alert.source}`,
      type: 'alert',
      message: `Alert ${suppressedBy ? `(suppressed by ${suppressedBy}) ` : ''}[${alert.severity}] ${alert.summary}`,
      data: { alert_id: alert.id, dedup_key: alert.dedupKey, severity: alert.severity, source: alert.source, status: 'firing', ...(suppressedBy ? { suppressed_by: suppressedBy } : {}) },
    });
    fx.add(() => this.bus.emit('incident.changed', { tenant: incident.tenant, incident, change: 'alert', actor: `integration:${alert.source}` }));
  }

  async record(db: Db, incident: Incident, entry: TimelineInput): Promise<void> {
    await appendTimeline(db, incident, entry);
  }

  async update(
    trx: Transaction<Database>,
    incident: Incident,
    patch: { title?: string | undefined; summary?: string | undefined; severity?: Severity | undefined },
    actor: string,
    fx: AfterCommit,
  ): Promise<Incident> {
    const set: Partial<IncidentsTable> = {};
    const at = this.clock.now();
    if (patch.title !== undefined && patch.title !== incident.title) set.title = patch.title;
    if (patch.summary !== undefined && patch.summary !== incident.summary) set.summary = patch.summary;
    if (patch.severity !== undefined && patch.severity !== incident.severity) set.severity = patch.severity;
    if (Object.keys(set).length === 0) return incident;
    await trx.updateTable('incidents').set(set).where('id', '=', incident.id).execute();
    const after = toIncident({ ...toRow(incident), ...set } as IncidentsTable);
    if (set.severity) {
      await appendTimeline(trx, after, { at, actor, type: 'severity', message: `Severity ${incident.severity} → ${after.severity}`, data: { from: incident.severity, to: after.severity } });
    }
    if (set.title !== undefined || set.summary !== undefined) {
      await appendTimeline(trx, after, {
        at,
        actor,
        type: 'updated',
        message: set.title !== undefined ? `Title changed to "${after.title}"` : 'Summary updated',
        data: { ...(set.title !== undefined ? { title: after.title } : {}), ...(set.summary !== undefined ? { summary: after.summary } : {}) },
      });
    }
    fx.add(() => this.bus.emit('incident.changed', { tenant: after.tenant, incident: after, change: set.severity ? 'severity' : 'updated', actor }));
    return after;
  }

  async assignRole(trx: Transaction<Database>, incident: Incident, role: IncidentRole, user: { id: string; label: string } | null, actor: string, fx: AfterCommit): Promise<void> {
    const at = this.clock.now();
    if (user) {
      await trx
        .insertInto('incident_roles')
        .values({ incident_id: incident.id, role, user_id: user.id, assigned_at: at, assigned_by: actor })
        .onConflict((oc) => oc.columns(['incident_id', 'role']).doUpdateSet({ user_id: user.id, assigned_at: at, assigned_by: actor }))
        .execute();
    } else {
      await trx.deleteFrom('incident_roles').where('incident_id', '=', incident.id).where('role', '=', role).execute();
    }
    await appendTimeline(trx, incident, {
      at,
      actor,
      type: 'role',
      message: user ? `${user.label} is ${role}` : `${role} unassigned`,
      data: { role, user_id: user?.id ?? null },
    });
    fx.add(() => this.bus.emit('incident.changed', { tenant: incident.tenant, incident, change: 'role', actor }));
  }

  async roles(db: Db, incidentId: string): Promise<{ role: IncidentRole; userId: string; assignedAt: number; assignedBy: string }[]> {
    const rows = await db.selectFrom('incident_roles').selectAll().where('incident_id', '=', incidentId).orderBy('role').execute();
    return rows.map((r) => ({ role: r.role as IncidentRole, userId: r.user_id, assignedAt: Number(r.assigned_at), assignedBy: r.assigned_by }));
  }

  async note(trx: Transaction<Database>, incident: Incident, text: string, actor: string, fx: AfterCommit, type: 'note' | 'runbook' = 'note', data: Record<string, unknown> = {}): Promise<void> {
    await appendTimeline(trx, incident, { at: this.clock.now(), actor, type, message: text, data });
    fx.add(() => this.bus.emit('incident.changed', { tenant: incident.tenant, incident, change: 'note', actor }));
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err.code === '23505' || /UNIQUE constraint/.test(err.message ?? '');
}

export function toIncident(r: IncidentsTable): Incident {
  const n = (v: number | null) => (v === null || v === undefined ? null : Number(v));
  return {
    id: r.id,
    tenant: r.tenant_id,
    number: Number(r.number),
    title: r.title,
    summary: r.summary,
    service: r.service,
    severity: r.severity as Severity,
    state: r.state as IncidentState,
    groupingKey: r.grouping_key,
    escalationPolicy: r.escalation_policy,
    openedAt: Number(r.opened_at),
    acknowledgedAt: n(r.acknowledged_at),
    mitigatedAt: n(r.mitigated_at),
    resolvedAt: n(r.resolved_at),
    closedAt: n(r.closed_at),
    createdBy: r.created_by,
    unpaged: r.unpaged_reason ? { reason: r.unpaged_reason, at: Number(r.unpaged_at) } : null,
  };
}

function toRow(i: Incident): IncidentsTable {
  return {
    id: i.id,
    tenant_id: i.tenant,
    number: i.number,
    title: i.title,
    summary: i.summary,
    service: i.service,
    severity: i.severity,
    state: i.state,
    grouping_key: i.groupingKey,
    escalation_policy: i.escalationPolicy,
    opened_at: i.openedAt,
    acknowledged_at: i.acknowledgedAt,
    mitigated_at: i.mitigatedAt,
    resolved_at: i.resolvedAt,
    closed_at: i.closedAt,
    created_by: i.createdBy,
    unpaged_reason: i.unpaged?.reason ?? null,
    unpaged_at: i.unpaged?.at ?? null,
  };
}
