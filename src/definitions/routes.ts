/** HTTP routes of definitions: plan, apply, read, history, delete. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import { KeelError } from '../core/errors.js';
import type { DefinitionsService } from './definitions-service.js';
import { definitionHistorySchema, definitionWithDocumentSchema, planSchema, storedDefinitionListSchema, storedDefinitionSchema } from './schemas.js';

const sources = z
  .object({
    sources: z
      .array(z.object({ file: z.string().min(1).max(1000), content: z.string().max(5 * 1024 * 1024) }).strict())
      .min(1)
      .max(1000),
    prune: z.boolean().optional().describe('Also delete every definition of the tenant that the sources do not contain.'),
  })
  .strict();

const kindName = z.object({ kind: z.string().min(1).max(100), name: z.string().min(1).max(200) }).strict();

export function definitionRoutes(deps: { definitions: DefinitionsService }): AnyRoute[] {
  const { definitions } = deps;
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/definitions/plan',
      summary: 'Show what applying these YAML documents would create, change or delete',
      tags: ['definitions'],
      permission: 'definitions:read',
      auditExempt: 'only computes a plan; nothing is changed',
      body: sources,
      responses: [
        { status: 200, description: 'The plan', schema: planSchema },
        { status: 400, description: 'Invalid documents; every error with file, line and field path' },
      ],
      handler: async ({ body, principal }) => definitions.plan(principal.tenant, body.sources, { prune: body.prune ?? false }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/definitions/apply',
      summary: 'Apply YAML documents atomically (all or nothing)',
      tags: ['definitions'],
      permission: 'definitions:write',
      audit: 'definitions.apply',
      body: sources,
      responses: [
        { status: 200, description: 'What was applied', schema: planSchema },
        { status: 400, description: 'Invalid documents; nothing was applied' },
        { status: 409, description: 'A concurrent apply changed the same definitions' },
      ],
      handler: async ({ body, principal, audit }) => {
        const plan = await definitions.apply(principal.tenant, body.sources, principal.actor, { prune: body.prune ?? false });
        for (const i of plan.items) {
          if (i.action !== 'unchanged') audit({ target: `${i.kind}/${i.name}`, after: { action: i.action, diff: i.diff } });
        }
        return plan;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/definitions',
      summary: 'List definitions',
      tags: ['definitions'],
      permission: 'definitions:read',
      query: z.object({ kind: z.string().max(100).optional() }).strict(),
      responses: [{ status: 200, description: 'Definitions', schema: storedDefinitionListSchema }],
      handler: async ({ query, principal }) => ({ definitions: (await definitions.list(principal.tenant, query.kind)).map((d) => definitions.withDocument(d)) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/definitions/:kind/:name',
      summary: 'Show one definition',
      tags: ['definitions'],
      permission: 'definitions:read',
      params: kindName,
      responses: [{ status: 200, description: 'The definition; `document` is the YAML document that applies it again as is', schema: definitionWithDocumentSchema }],
      handler: async ({ params, principal }) => {
        const d = await definitions.get(principal.tenant, params.kind, params.name);
        if (!d) throw new KeelError('not_found', `${params.kind}/${params.name} not found`);
        return definitions.withDocument(d);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/definitions/:kind/:name/history',
      summary: 'Every version of a definition: who, when, what changed',
      tags: ['definitions'],
      permission: 'definitions:read',
      params: kindName,
      responses: [{ status: 200, description: 'Versions, oldest first', schema: definitionHistorySchema }],
      handler: async ({ params, principal }) => {
        const versions = await definitions.history(principal.tenant, params.kind, params.name);
        if (versions.length === 0) throw new KeelError('not_found', `${params.kind}/${params.name} not found`);
        return { versions };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/definitions/:kind/:name',
      summary: 'Delete a definition',
      tags: ['definitions'],
      permission: 'definitions:write',
      audit: 'definitions.delete',
      params: kindName,
      responses: [
        { status: 200, description: 'The deleted definition', schema: storedDefinitionSchema },
        { status: 409, description: 'Other definitions still reference it' },
      ],
      handler: async ({ params, principal, audit }) => {
        const d = await definitions.remove(principal.tenant, params.kind, params.name, principal.actor);
        audit({ target: `${params.kind}/${params.name}`, before: d.spec });
        return d;
      },
    }),
  ];
}
