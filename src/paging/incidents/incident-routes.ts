/** HTTP routes of the incident itself: declare, list, show, change, respond (ack/mitigate/resolve/close), timeline, notes, roles. */
import { z } from 'zod';
import { defineRoute, type AnyRoute, type AuditNote } from '../../api/route.js';
import { actorOf, type Principal } from '../../auth/principal.js';
import { timeParam, timeText } from '../../core/time-input.js';
import type { IncidentQueries } from './incident-queries.js';
import { OPEN_STATES, ROLES, SEVERITIES, type Incident, type IncidentRole, type IncidentService, type IncidentState } from './incident-service.js';
import { idParam } from './route-params.js';
import { incidentView } from './views.js';
import type { Clock } from '../../core/clock.js';
import { incidentDetailSchema, incidentListSchema, incidentSchema, rolesSchema, timelineSchema } from './schemas.js';

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
    severity: z
      .string()
      .regex(/^SEV[1-4](,SEV[1-4])*$/, 'SEV1 to SEV4, comma-separated')
      .optional()
      .describe('Only these severities, e.g. SEV1,SEV2'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z
      .string()
      .regex(/^\d{1,16}\.\d{1,12}$/, 'the next_cursor of a previous page')
      .optional()
      .describe('The `next_cursor` of the previous page: incidents older than its last one'),
    from: timeText.optional().describe('Incidents opened at or after (RFC 3339, date, epoch ms, now-24h or 7d)'),
    to: timeText.optional().describe('Incidents opened before (RFC 3339, date, epoch ms, now-24h or 7d)'),
  })
  .strict();

/** What the two role routes (assign, unassign) share. */
const roleRoute = {
  tags: ['incidents'] as string[],
  permission: 'incidents:respond' as const,
  audit: 'incidents.role',
  params: z.object({ id: z.string().min(1).max(100), role: z.enum(ROLES) }).strict(),
};

export function incidentLifecycleRoutes(deps: { clock: Clock; incidents: IncidentService; queries: IncidentQueries }): AnyRoute[] {
  const { clock, incidents, queries } = deps;

  /** Assigns (or with null, unassigns) a role; answers the roles after the change. */
  async function assignRole(principal: Principal, ref: string, role: IncidentRole, person: { id: string; label: string } | null, audit: (entry: AuditNote) => void) {
    const i = await incidents.inTransaction(async (trx, fx) => {
      const inc = await incidents.require(trx, principal.tenant, ref);
      await incidents.assignRole(trx, inc, role, person, actorOf(principal), fx);
      return inc;
    });
    audit({ target: `incident/${i.id}`, after: { role, user_id: person?.id ?? null } });
    return (await queries.detail(i)).roles;
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
        { status: 200, description: 'The incident after the change', schema: incidentSchema },
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
      responses: [{ status: 200, description: 'Incidents, newest first, and `next_cursor` (null on the last page)', schema: incidentListSchema }],
      handler: async ({ query, principal }) => {
        const state = query.state ?? 'open';
        const states = state === 'all' ? undefined : state === 'open' ? [...OPEN_STATES] : (state.split(',') as IncidentState[]);
        const [openedAt, number] = query.cursor ? query.cursor.split('.').map(Number) : [];
        // One more than asked tells whether an older page exists, without counting them all.
        const list = await incidents.list(principal.tenant, {
          ...(states ? { states } : {}),
          ...(query.service ? { service: query.service } : {}),
          ...(query.severity ? { severities: query.severity.split(',') as Incident['severity'][] } : {}),
          ...(openedAt !== undefined && number !== undefined ? { before: { openedAt, number } } : {}),
          limit: query.limit + 1,
          ...(query.from ? { from: timeParam('from', query.from, 0, clock.now()) } : {}),
          ...(query.to ? { to: timeParam('to', query.to, 0, clock.now()) } : {}),
        });
        const page = list.slice(0, query.limit);
        const last = page[page.length - 1];
        return { incidents: page.map(incidentView), next_cursor: list.length > query.limit && last ? `${last.openedAt}.${last.number}` : null };
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
        { status: 201, description: 'The incident', schema: incidentDetailSchema },
        { status: 400, description: 'Unknown service, policy or commander' },
      ],
      handler: async ({ body, principal, audit }) => {
        const tenant = principal.tenant;
        const policy = await queries.declaredPolicy(tenant, body);
        const commander = body.commander ? await queries.person(tenant, body.commander, 'commander') : null;
        const actor = actorOf(principal);
        const incident = await incidents.inTransaction(async (trx, fx) => {
          const i = await incidents.open(
            trx,
            // With a service or policy and `page` (the default), people are expected to be paged.
            {
              tenant,
              title: body.title,
              summary: body.summary ?? '',
              service: body.service ?? null,
              severity: body.severity,
              escalationPolicy: policy,
              createdBy: actor,
              expectsPaging: body.page && (body.service !== undefined || body.escalationPolicy !== undefined),
            },
            fx,
          );
          if (commander) await incidents.assignRole(trx, i, 'commander', commander, actor, fx);
          // Read back: the open hooks may have marked it (e.g. as having paged nobody).
          return (await incidents.find(trx, tenant, i.id)) ?? i;
        });
        audit({ target: `incident/${incident.id}`, after: incidentView(incident) });
        return queries.detail(incident);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/:id',
      summary: 'Show an incident (by id or number): roles, alerts, escalation, action items',
      tags: ['incidents'],
      permission: 'incidents:read',
      params: idParam,
      responses: [{ status: 200, description: 'The incident', schema: incidentDetailSchema }],
      handler: async ({ params, principal }) => queries.detail(await queries.require(principal.tenant, params.id)),
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
      responses: [{ status: 200, description: 'The incident', schema: incidentSchema }],
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
      responses: [{ status: 200, description: 'Entries, oldest first', schema: timelineSchema }],
      handler: async ({ params, query, principal }) => {
        const i = await queries.require(principal.tenant, params.id);
        const types = query.type ? (query.type.split(',').map((s) => s.trim()) as never[]) : undefined;
        return { incident: incidentView(i), timeline: await queries.timeline(i, types) };
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
      ...roleRoute,
      body: z.object({ user: z.string().min(1).max(320).describe('User name, email or user id') }).strict(),
      responses: [{ status: 200, description: 'The roles after the change', schema: rolesSchema }],
      handler: async ({ params, body, principal, audit }) => {
        const person = await queries.person(principal.tenant, body.user, 'user');
        return assignRole(principal, params.id, params.role, person, audit);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/incidents/:id/roles/:role',
      summary: 'Unassign an incident role',
      ...roleRoute,
      responses: [{ status: 200, description: 'The roles after the change', schema: rolesSchema }],
      handler: async ({ params, principal, audit }) => {
        return assignRole(principal, params.id, params.role, null, audit);
      },
    }),
  ];
}
