/** HTTP routes of incidents: declare, list, show, respond (ack/mitigate/resolve/close), notes, roles, postmortem, action items, metrics. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { readSpec } from '../definitions/read-specs.js';
import { Directory } from '../oncall/directory.js';
import { iso, timeParam, timeText } from '../core/time-input.js';
import { decodeCursor } from '../core/page-cursor.js';
import type { Store } from '../store/store.js';
import { ACTION_STATUSES, type ActionItems } from './action-items.js';
import { OPEN_STATES, ROLES, SEVERITIES, type Incident, type IncidentService, type IncidentState } from './incident-service.js';
import { incidentMetrics } from './metrics.js';
import { MAX_POSTMORTEM_BYTES, postmortemBody, postmortemView } from './postmortem-body.js';
import type { PostmortemService } from './postmortem-service.js';
import { readTimeline } from './timeline.js';
import { actionItemView, incidentView, timelineView } from './views.js';

export function actorOf(p: Principal): string {
  return p.actor;
}

const idParam = z.object({ id: z.string().min(1).max(100) }).strict();
const noteBody = z.object({ note: z.string().max(5000).optional() }).strict();

const declareBody = z
  .object({
    title: z.string().min(1).max(300),
    summary: z.string().max(10_000).optional(),
    service: z.string().min(1).max(200).optional(),
    severity: z.enum(SEVERITIES).default('SEV3'),
    /** Page through the service's escalation policy (or `escalationPolicy`); default true. */
    page: z.boolean().default(true),
    escalationPolicy: z.string().min(1).max(200).optional(),
    commander: z.string().min(1).max(320).optional(),
  })
  .strict();

const listQuery = z
  .object({
    state: z
      .string()
      .regex(/^(open|all|triggered|acknowledged|mitigated|resolved|closed)(,(triggered|acknowledged|mitigated|resolved|closed))*$/, 'open, all, or comma-separated states')
      .optional()
      .describe('open (default), all, or states such as triggered,acknowledged'),
    service: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    from: timeText.optional().describe('Incidents opened at or after (RFC 3339, date, epoch ms, now-24h or 7d)'),
    to: timeText.optional().describe('Incidents opened before (RFC 3339, date, epoch ms, now-24h or 7d)'),
    cursor: z.string().max(200).optional().describe('The next_cursor of the previous page: continue after its last incident'),
  })
  .strict();

export interface IncidentRouteDeps {
  store: Store;
  clock: Clock;
  incidents: IncidentService;
  actions: ActionItems;
  postmortems: PostmortemService;
}

export function incidentRoutes(deps: IncidentRouteDeps): AnyRoute[] {
  const { store, clock, incidents, actions, postmortems } = deps;
  const db = store.db;

  const load = (tenant: string, ref: string) => incidents.require(db, tenant, ref);

  async function detail(i: Incident) {
    const directory = await Directory.load(db, i.tenant);
    const roles = await incidents.roles(db, i.id);
    const person = async (id: string) => {
      const p = await directory.resolve(db, id);
      return p ? { user_id: id, email: p.email, name: p.name, handle: p.handle } : { user_id: id };
    };
    const alerts = await db
      .selectFrom('incident_alerts')
      .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
      .select(['alerts.id', 'alerts.summary', 'alerts.severity', 'alerts.source', 'alerts.status', 'alerts.count', 'alerts.first_seen', 'alerts.last_seen', 'alerts.dedup_key'])
      .where('incident_alerts.incident_id', '=', i.id)
      .orderBy('alerts.first_seen')
      .execute();
    const esc = await db.selectFrom('escalations').selectAll().where('incident_id', '=', i.id).executeTakeFirst();
    const nextTimer = await db
      .selectFrom('escalation_timers')
      .select(['due_at', 'pass', 'step'])
      .where('incident_id', '=', i.id)
      .where('fired_at', 'is', null)
      .where('canceled_at', 'is', null)
      .orderBy('due_at')
      .limit(1)
      .executeTakeFirst();
    const items = await actions.list(db, i.tenant, { incidentId: i.id });
    return {
      ...incidentView(i),
      roles: Object.fromEntries(await Promise.all(roles.map(async (r) => [r.role, await person(r.userId)] as const))),
      alerts: alerts.map((a) => ({
        id: a.id,
        summary: a.summary,
        severity: a.severity,
        source: a.source,
        status: a.status,
        count: Number(a.count),
        dedup_key: a.dedup_key,
        first_seen: iso(Number(a.first_seen)),
        last_seen: iso(Number(a.last_seen)),
      })),
      escalation: esc
        ? {
            policy: esc.policy,
            status: esc.status,
            pass: Number(esc.pass),
            step: Number(esc.step),
            next: nextTimer ? { pass: Number(nextTimer.pass), step: Number(nextTimer.step), at: iso(Number(nextTimer.due_at)) } : null,
          }
        : null,
      action_items: await Promise.all(items.map(async (a) => actionItemView(a, a.ownerUserId ? await directory.resolve(db, a.ownerUserId) : undefined))),
    };
  }

  async function resolvePerson(tenant: string, ref: string, path: string) {
    const p = await (await Directory.load(db, tenant)).resolve(db, ref);
    if (!p?.id) throw new KeelError('validation_failed', `${path}: no user "${ref}" (a User name, email or user id)`, { details: [{ path, message: 'unknown user' }] });
    return { id: p.id, label: Directory.label(p) };
  }

  const transition = (action: 'ack' | 'mitigate' | 'resolve' | 'close', to: IncidentState, summary: string) =>
    defineRoute({
      method: 'POST',
      url: `/v1/incidents/:id/${action}`,
      summary,
      description: 'Body optional: `{"note": "..."}` goes into the timeline with the change. 409 when the incident is not in a state that allows it.',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: `incidents.${action}`,
      params: idParam,
      responses: [
        { status: 200, description: 'The incident after the change' },
        { status: 409, description: 'Not allowed from the current state (or no postmortem yet, for close)' },
      ],
      handler: async ({ params, principal, request, audit }) => {
        const body = noteBody.parse(request.body ?? {});
        const after = await incidents.inTransaction(async (trx, fx) => {
          const i = await incidents.require(trx, principal.tenant, params.id);
          return incidents.transition(trx, i, to, actorOf(principal), fx, body.note);
        });
        audit({ target: `incident/${after.id}`, after: { state: after.state } });
        return incidentView(after);
      },
    });

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/incidents',
      summary: 'List incidents (open ones by default)',
      tags: ['incidents'],
      permission: 'incidents:read',
      query: listQuery,
      responses: [
        { status: 200, description: 'Incidents, newest first; next_cursor continues after the last one (null on the last page)' },
        { status: 400, description: 'A cursor that is not a next_cursor of this list' },
      ],
      handler: async ({ query, principal }) => {
        const state = query.state ?? 'open';
        const states = state === 'all' ? undefined : state === 'open' ? [...OPEN_STATES] : (state.split(',') as IncidentState[]);
        const page = await incidents.page(principal.tenant, {
          ...(states ? { states } : {}),
          ...(query.service ? { service: query.service } : {}),
          limit: query.limit,
          ...(query.from ? { from: timeParam('from', query.from, 0, clock.now()) } : {}),
          ...(query.to ? { to: timeParam('to', query.to, 0, clock.now()) } : {}),
          ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
        });
        return { incidents: page.incidents.map(incidentView), next_cursor: page.nextCursor };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/incidents',
      summary: 'Declare an incident by hand',
      description: 'With a service (and `page`, the default), the service’s escalation policy pages people as for an alert.',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: 'incidents.declare',
      body: declareBody,
      responses: [
        { status: 201, description: 'The incident' },
        { status: 400, description: 'Unknown service, policy or commander' },
      ],
      handler: async ({ body, principal, audit }) => {
        const tenant = principal.tenant;
        let policy: string | null = null;
        if (body.service) {
          const svc = await readSpec<{ escalationPolicy?: string }>(db, tenant, 'Service', body.service);
          if (!svc) throw new KeelError('validation_failed', `service: no Service named "${body.service}"`, { details: [{ path: 'service', message: 'unknown service' }] });
          if (body.page) policy = svc.escalationPolicy ?? null;
        }
        if (body.escalationPolicy) {
          if (!(await readSpec(db, tenant, 'EscalationPolicy', body.escalationPolicy))) {
            throw new KeelError('validation_failed', `escalationPolicy: no EscalationPolicy named "${body.escalationPolicy}"`, { details: [{ path: 'escalationPolicy', message: 'unknown policy' }] });
          }
          policy = body.page ? body.escalationPolicy : null;
        }
        const commander = body.commander ? await resolvePerson(tenant, body.commander, 'commander') : null;
        const actor = actorOf(principal);
        const incident = await incidents.inTransaction(async (trx, fx) => {
          const i = await incidents.open(
            trx,
            // With a service or policy and `page` (the default), people are expected to be paged.
            { tenant, title: body.title, summary: body.summary ?? '', service: body.service ?? null, severity: body.severity, escalationPolicy: policy, createdBy: actor, expectsPaging: body.page && (body.service !== undefined || body.escalationPolicy !== undefined) },
            fx,
          );
          if (commander) await incidents.assignRole(trx, i, 'commander', commander, actor, fx);
          // Read back: the open hooks may have marked it (e.g. as having paged nobody).
          return (await incidents.find(trx, tenant, i.id)) ?? i;
        });
        audit({ target: `incident/${incident.id}`, after: incidentView(incident) });
        return detail(incident);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/metrics',
      summary: 'MTTA, MTTR, incidents by severity, pages per person per week',
      tags: ['incidents'],
      permission: 'incidents:read',
      query: z
        .object({
          from: timeText.optional().describe('Start (RFC 3339, date, epoch ms, now-24h or 7d); default 30 days ago'),
          to: timeText.optional().describe('End (RFC 3339, date, epoch ms, now-24h or 7d); default now'),
          service: z.string().max(200).optional(),
        })
        .strict(),
      responses: [{ status: 200, description: 'Metrics over incidents opened in the range' }],
      handler: async ({ query, principal }) => {
        const now = clock.now();
        const to = timeParam('to', query.to, now, now);
        const from = timeParam('from', query.from, to - 30 * 86_400_000, now);
        if (!(to > from)) throw new KeelError('validation_failed', 'to: must be after from', { details: [{ path: 'to', message: 'must be after from' }] });
        let q = db.selectFrom('incidents').select(['service', 'severity', 'opened_at', 'acknowledged_at', 'resolved_at']).where('tenant_id', '=', principal.tenant).where('opened_at', '>=', from).where('opened_at', '<', to);
        if (query.service) q = q.where('service', '=', query.service);
        const rows = await q.execute();
        let pq = db
          .selectFrom('notification_jobs')
          .innerJoin('incidents', 'incidents.id', 'notification_jobs.incident_id')
          .select(['notification_jobs.user_id', 'notification_jobs.incident_id', 'notification_jobs.pass', 'notification_jobs.step'])
          .select((eb) => eb.fn.min('notification_jobs.created_at').as('at'))
          .where('notification_jobs.tenant_id', '=', principal.tenant)
          .where('notification_jobs.user_id', 'is not', null)
          .where('notification_jobs.kind', '=', 'page')
          .where('notification_jobs.created_at', '>=', from)
          .where('notification_jobs.created_at', '<', to)
          .groupBy(['notification_jobs.user_id', 'notification_jobs.incident_id', 'notification_jobs.pass', 'notification_jobs.step']);
        if (query.service) pq = pq.where('incidents.service', '=', query.service);
        const pages = await pq.execute();
        const directory = await Directory.load(db, principal.tenant);
        const label = new Map<string, string>();
        for (const p of pages) {
          if (!label.has(p.user_id!)) {
            const person = await directory.resolve(db, p.user_id!);
            label.set(p.user_id!, person?.email ?? p.user_id!);
          }
        }
        return incidentMetrics(
          rows.map((r) => ({
            service: r.service,
            severity: r.severity,
            openedAt: Number(r.opened_at),
            acknowledgedAt: r.acknowledged_at === null ? null : Number(r.acknowledged_at),
            resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
          })),
          pages.map((p) => ({ user: label.get(p.user_id!)!, at: Number(p.at) })),
          from,
          to,
        );
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/:id',
      summary: 'Show an incident (by id or number): roles, alerts, escalation, action items',
      tags: ['incidents'],
      permission: 'incidents:read',
      params: idParam,
      responses: [{ status: 200, description: 'The incident' }],
      handler: async ({ params, principal }) => detail(await load(principal.tenant, params.id)),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/incidents/:id',
      summary: 'Change an incident’s title, summary or severity',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: 'incidents.update',
      params: idParam,
      body: z.object({ title: z.string().min(1).max(300).optional(), summary: z.string().max(10_000).optional(), severity: z.enum(SEVERITIES).optional() }).strict(),
      responses: [{ status: 200, description: 'The incident' }],
      handler: async ({ params, body, principal, audit }) => {
        const { before, after } = await incidents.inTransaction(async (trx, fx) => {
          const i = await incidents.require(trx, principal.tenant, params.id);
          return { before: i, after: await incidents.update(trx, i, body, actorOf(principal), fx) };
        });
        audit({ target: `incident/${after.id}`, before: incidentView(before), after: incidentView(after) });
        return incidentView(after);
      },
    }),
    transition('ack', 'acknowledged', 'Acknowledge an incident (stops escalation)'),
    transition('mitigate', 'mitigated', 'Mark an incident mitigated (stops escalation)'),
    transition('resolve', 'resolved', 'Resolve an incident (stops escalation)'),
    transition('close', 'closed', 'Close a resolved incident that has a postmortem'),
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/:id/timeline',
      summary: 'The incident timeline: alerts, pages, state and role changes, notes',
      tags: ['incidents'],
      permission: 'incidents:read',
      params: idParam,
      query: z.object({ type: z.string().max(200).optional().describe('Comma-separated entry types, e.g. notification,state') }).strict(),
      responses: [{ status: 200, description: 'Entries, oldest first' }],
      handler: async ({ params, query, principal }) => {
        const i = await load(principal.tenant, params.id);
        const types = query.type ? (query.type.split(',').map((s) => s.trim()) as never[]) : undefined;
        return { incident: incidentView(i), timeline: (await readTimeline(db, i.id, types ? { types } : {})).map(timelineView) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/incidents/:id/notes',
      summary: 'Add a note (or a runbook run record) to the timeline',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: 'incidents.note',
      params: idParam,
      body: z
        .object({
          text: z.string().min(1).max(20_000),
          type: z.enum(['note', 'runbook']).default('note'),
          data: z.record(z.string(), z.unknown()).optional(),
        })
        .strict(),
      responses: [{ status: 201, description: 'Added' }],
      handler: async ({ params, body, principal, audit }) => {
        const i = await incidents.inTransaction(async (trx, fx) => {
          const inc = await incidents.require(trx, principal.tenant, params.id);
          await incidents.note(trx, inc, body.text, actorOf(principal), fx, body.type, body.data ?? {});
          return inc;
        });
        audit({ target: `incident/${i.id}`, after: { note: body.text.slice(0, 200) } });
        return { incident: i.id, type: body.type, text: body.text };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/incidents/:id/roles/:role',
      summary: 'Assign an incident role (commander, communications, scribe)',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: 'incidents.role',
      params: z.object({ id: z.string().min(1).max(100), role: z.enum(ROLES) }).strict(),
      body: z.object({ user: z.string().min(1).max(320).describe('User name, email or user id') }).strict(),
      responses: [{ status: 200, description: 'The roles after the change' }],
      handler: async ({ params, body, principal, audit }) => {
        const person = await resolvePerson(principal.tenant, body.user, 'user');
        const i = await incidents.inTransaction(async (trx, fx) => {
          const inc = await incidents.require(trx, principal.tenant, params.id);
          await incidents.assignRole(trx, inc, params.role, person, actorOf(principal), fx);
          return inc;
        });
        audit({ target: `incident/${i.id}`, after: { role: params.role, user_id: person.id } });
        return (await detail(i)).roles;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/incidents/:id/roles/:role',
      summary: 'Unassign an incident role',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: 'incidents.role',
      params: z.object({ id: z.string().min(1).max(100), role: z.enum(ROLES) }).strict(),
      responses: [{ status: 200, description: 'The roles after the change' }],
      handler: async ({ params, principal, audit }) => {
        const i = await incidents.inTransaction(async (trx, fx) => {
          const inc = await incidents.require(trx, principal.tenant, params.id);
          await incidents.assignRole(trx, inc, params.role, null, actorOf(principal), fx);
          return inc;
        });
        audit({ target: `incident/${i.id}`, after: { role: params.role, user_id: null } });
        return (await detail(i)).roles;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/incidents/:id/postmortem',
      summary: 'Generate the Markdown postmortem from the incident’s record and store it',
      description:
        'Summary, impact (duration; error budget each SLO of the service lost during the incident), timeline, contributing alerts, action items. Regenerating replaces a generated one; an edited one only with `force=true` (409 otherwise).',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: 'incidents.postmortem',
      params: idParam,
      query: z.object({ force: z.enum(['true', 'false']).default('false').describe('Replace an edited postmortem') }).strict(),
      responses: [
        { status: 201, description: 'The postmortem', contentType: 'application/json' },
        { status: 409, description: 'The stored postmortem was edited (regenerate with force=true)' },
      ],
      handler: async ({ params, query, principal, audit }) => {
        const i = await load(principal.tenant, params.id);
        const saved = await postmortems.save(i, await postmortems.render(i), actorOf(principal), true, query.force === 'true');
        audit({ target: `incident/${i.id}/postmortem` });
        return postmortemView(i.id, saved);
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/incidents/:id/postmortem',
      summary: 'Store an edited postmortem',
      description: 'The body is the Markdown itself (`Content-Type: text/markdown`) or JSON `{"markdown": "..."}`.',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: 'incidents.postmortem',
      params: idParam,
      rawBody: { contentTypes: ['text/markdown', 'application/json'], bodyLimit: MAX_POSTMORTEM_BYTES + 1024 },
      responses: [
        { status: 200, description: 'The postmortem' },
        { status: 400, description: 'Empty, too large, or not UTF-8 Markdown' },
        { status: 415, description: 'Neither text/markdown nor application/json' },
      ],
      handler: async ({ params, request, principal, audit }) => {
        const markdown = postmortemBody(request.headers['content-type'], request.body);
        const i = await load(principal.tenant, params.id);
        const saved = await postmortems.save(i, markdown, actorOf(principal), false);
        audit({ target: `incident/${i.id}/postmortem` });
        return postmortemView(i.id, saved);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/:id/postmortem',
      summary: 'The stored postmortem (Markdown)',
      tags: ['incidents'],
      permission: 'incidents:read',
      params: idParam,
      responses: [
        { status: 200, description: 'The postmortem' },
        { status: 404, description: 'None written yet' },
      ],
      handler: async ({ params, principal }) => {
        const i = await load(principal.tenant, params.id);
        const pm = await postmortems.get(i.id);
        if (!pm) throw new KeelError('not_found', `incident #${i.number} has no postmortem yet`);
        return postmortemView(i.id, pm);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/:id/action-items',
      summary: 'Action items of an incident',
      tags: ['incidents'],
      permission: 'incidents:read',
      params: idParam,
      responses: [{ status: 200, description: 'Action items' }],
      handler: async ({ params, principal }) => {
        const i = await load(principal.tenant, params.id);
        const directory = await Directory.load(db, i.tenant);
        const items = await actions.list(db, i.tenant, { incidentId: i.id });
        return { action_items: await Promise.all(items.map(async (a) => actionItemView(a, a.ownerUserId ? await directory.resolve(db, a.ownerUserId) : undefined))) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/incidents/:id/action-items',
      summary: 'Add an action item',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: 'incidents.action_item',
      params: idParam,
      body: z.object({ title: z.string().min(1).max(500), owner: z.string().min(1).max(320).optional() }).strict(),
      responses: [{ status: 201, description: 'The action item' }],
      handler: async ({ params, body, principal, audit }) => {
        const owner = body.owner ? await resolvePerson(principal.tenant, body.owner, 'owner') : null;
        const item = await incidents.inTransaction(async (trx, fx) => {
          const i = await incidents.require(trx, principal.tenant, params.id);
          return actions.add(trx, i, { title: body.title, owner }, actorOf(principal), fx);
        });
        audit({ target: `action-item/${item.id}`, after: item });
        return actionItemView(item, item.ownerUserId ? await (await Directory.load(db, principal.tenant)).resolve(db, item.ownerUserId) : undefined);
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/incidents/:id/action-items/:item',
      summary: 'Change an action item’s status, owner or title',
      tags: ['incidents'],
      permission: 'incidents:respond',
      audit: 'incidents.action_item',
      params: z.object({ id: z.string().min(1).max(100), item: z.string().min(1).max(100) }).strict(),
      body: z
        .object({ title: z.string().min(1).max(500).optional(), status: z.enum(ACTION_STATUSES).optional(), owner: z.string().min(1).max(320).nullable().optional() })
        .strict(),
      responses: [{ status: 200, description: 'The action item' }],
      handler: async ({ params, body, principal, audit }) => {
        const owner = body.owner === undefined ? undefined : body.owner === null ? null : await resolvePerson(principal.tenant, body.owner, 'owner');
        const item = await incidents.inTransaction(async (trx) => {
          const i = await incidents.require(trx, principal.tenant, params.id);
          return actions.update(trx, i, params.item, { ...(body.title !== undefined ? { title: body.title } : {}), ...(body.status ? { status: body.status } : {}), ...(owner !== undefined ? { owner } : {}) }, actorOf(principal));
        });
        audit({ target: `action-item/${item.id}`, after: item });
        return actionItemView(item, item.ownerUserId ? await (await Directory.load(db, principal.tenant)).resolve(db, item.ownerUserId) : undefined);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/action-items',
      summary: 'Action items across incidents (open ones by default)',
      tags: ['incidents'],
      permission: 'incidents:read',
      query: z
        .object({
          status: z.string().regex(/^(all|(open|in_progress|done|wont_do)(,(open|in_progress|done|wont_do))*)$/, 'all, or comma-separated statuses').optional(),
          owner: z.string().max(320).optional(),
        })
        .strict(),
      responses: [{ status: 200, description: 'Action items' }],
      handler: async ({ query, principal }) => {
        const status = query.status ?? 'open,in_progress';
        const directory = await Directory.load(db, principal.tenant);
        const owner = query.owner ? (await directory.resolve(db, query.owner))?.id ?? '(nobody)' : undefined;
        const items = await actions.list(db, principal.tenant, {
          ...(status === 'all' ? {} : { status: status.split(',') as never[] }),
          ...(owner ? { owner } : {}),
        });
        return { action_items: await Promise.all(items.map(async (a) => actionItemView(a, a.ownerUserId ? await directory.resolve(db, a.ownerUserId) : undefined))) };
      },
    }),
  ];
}


