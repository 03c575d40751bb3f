/** HTTP routes of action items: per incident and across incidents. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import { actorOf } from '../../auth/principal.js';
import { ACTION_STATUSES, type ActionItems, type ActionStatus } from './action-items.js';
import type { IncidentQueries } from './incident-queries.js';
import type { IncidentService } from './incident-service.js';
import { idParam } from './route-params.js';
import { actionItemListSchema, actionItemSchema } from './schemas.js';

export function actionItemRoutes(deps: { incidents: IncidentService; actions: ActionItems; queries: IncidentQueries }): AnyRoute[] {
  const { incidents, actions, queries } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/:id/action-items',
      summary: 'Action items of an incident',
      tags: ['incidents'],
      permission: 'incidents:read',
      params: idParam,
      responses: [{ status: 200, description: 'Action items', schema: actionItemListSchema }],
      handler: async ({ params, principal }) => {
        const i = await queries.require(principal.tenant, params.id);
        return { action_items: await queries.listActionItems(i.tenant, { incidentId: i.id }) };
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
      responses: [{ status: 201, description: 'The action item', schema: actionItemSchema }],
      handler: async ({ params, body, principal, audit }) => {
        const owner = body.owner ? await queries.person(principal.tenant, body.owner, 'owner') : null;
        const item = await incidents.inTransaction(async (trx, fx) => {
          const i = await incidents.require(trx, principal.tenant, params.id);
          return actions.add(trx, i, { title: body.title, owner }, actorOf(principal), fx);
        });
        audit({ target: `action-item/${item.id}`, after: item });
        return queries.actionItemView(principal.tenant, item);
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
      body: z.object({ title: z.string().min(1).max(500).optional(), status: z.enum(ACTION_STATUSES).optional(), owner: z.string().min(1).max(320).nullable().optional() }).strict(),
      responses: [{ status: 200, description: 'The action item', schema: actionItemSchema }],
      handler: async ({ params, body, principal, audit }) => {
        const owner = body.owner === undefined ? undefined : body.owner === null ? null : await queries.person(principal.tenant, body.owner, 'owner');
        const item = await incidents.inTransaction(async (trx) => {
          const i = await incidents.require(trx, principal.tenant, params.id);
          return actions.update(
            trx,
            i,
            params.item,
            { ...(body.title !== undefined ? { title: body.title } : {}), ...(body.status ? { status: body.status } : {}), ...(owner !== undefined ? { owner } : {}) },
            actorOf(principal),
          );
        });
        audit({ target: `action-item/${item.id}`, after: item });
        return queries.actionItemView(principal.tenant, item);
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
          status: z
            .string()
            .regex(/^(all|(open|in_progress|done|wont_do)(,(open|in_progress|done|wont_do))*)$/, 'all, or comma-separated statuses')
            .optional(),
          owner: z.string().max(320).optional(),
        })
        .strict(),
      responses: [{ status: 200, description: 'Action items', schema: actionItemListSchema }],
      handler: async ({ query, principal }) => {
        const status = query.status ?? 'open,in_progress';
        return {
          action_items: await queries.listActionItems(principal.tenant, {
            ...(status === 'all' ? {} : { status: status.split(',') as ActionStatus[] }),
            ...(query.owner ? { owner: query.owner } : {}),
          }),
        };
      },
    }),
  ];
}
