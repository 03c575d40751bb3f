/** HTTP routes of postmortems: generate from the incident's record, store an edited one, read it. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import { actorOf } from '../../auth/principal.js';
import { KeelError } from '../../core/errors.js';
import type { IncidentQueries } from './incident-queries.js';
import { MAX_POSTMORTEM_BYTES, postmortemBody, postmortemView } from './postmortem-body.js';
import type { PostmortemService } from './postmortem-service.js';
import { idParam } from './route-params.js';
import { postmortemSchema, sloImpactSchema } from './schemas.js';
import { iso } from '../../core/time-input.js';

export function postmortemRoutes(deps: { queries: IncidentQueries; postmortems: PostmortemService }): AnyRoute[] {
  const { queries, postmortems } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/:id/slo-impact',
      summary: 'The error budget the incident cost each SLO of its service (so far, while it is open)',
      tags: ['incidents'],
      permission: 'incidents:read',
      params: idParam,
      responses: [{ status: 200, description: 'Per SLO: budget consumed (0.25 = a quarter) and bad events; `impact` null without an SLO engine', schema: sloImpactSchema }],
      handler: async ({ params, principal }) => {
        const i = await queries.require(principal.tenant, params.id);
        const r = await postmortems.sloImpact(i);
        return {
          incident: i.id,
          impact:
            r.impact?.map((x) => ({
              slo: x.slo,
              budget_consumed: x.budgetConsumed,
              bad_events: x.badEvents,
              from: x.from === undefined ? iso(i.openedAt) : iso(x.from),
              from_reason: x.fromReason ?? null,
            })) ?? null,
          error: r.impactError ?? null,
        };
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
        { status: 201, description: 'The postmortem', contentType: 'application/json', schema: postmortemSchema },
        { status: 409, description: 'The stored postmortem was edited (regenerate with force=true)' },
      ],
      handler: async ({ params, query, principal, audit }) => {
        const i = await queries.require(principal.tenant, params.id);
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
        { status: 200, description: 'The postmortem', schema: postmortemSchema },
        { status: 400, description: 'Empty, too large, or not UTF-8 Markdown' },
        { status: 415, description: 'Neither text/markdown nor application/json' },
      ],
      handler: async ({ params, request, principal, audit }) => {
        const markdown = postmortemBody(request.headers['content-type'], request.body);
        const i = await queries.require(principal.tenant, params.id);
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
        { status: 200, description: 'The postmortem', schema: postmortemSchema },
        { status: 404, description: 'None written yet' },
      ],
      handler: async ({ params, principal }) => {
        const i = await queries.require(principal.tenant, params.id);
        const pm = await postmortems.get(i.id);
        if (!pm) throw new KeelError('not_found', `incident #${i.number} has no postmortem yet`);
        return postmortemView(i.id, pm);
      },
    }),
  ];
}
