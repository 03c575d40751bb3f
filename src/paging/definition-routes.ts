/**
 * REST resources over definitions (`/v1/schedules`, `/v1/escalation-policies`, ...): the same
 * kinds `keel apply -f` manages, with the same validation, versions and reference checks,
 * because a POST is an apply of one document and a DELETE is the definitions service's delete.
 */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import type { Permission } from '../auth/permissions.js';
import { KeelError } from '../core/errors.js';
import { randomBase62 } from '../core/ids.js';
import type { DefinitionsService } from '../definitions/definitions-service.js';
import type { Definition } from '../definitions/kinds.js';
import { definitionListSchema, definitionViewSchema } from '../definitions/schemas.js';

export interface ResourceOptions {
  kind: string;
  /** e.g. `/v1/schedules`. */
  path: string;
  tag: string;
  /** What one of them is, for summaries ("schedule"). */
  noun: string;
  read: Permission;
  write: Permission;
  /** `POST path` without a name creates one named `<prefix>-<random>`. */
  generatedNamePrefix?: string;
  /** Leave out the list route (another module lists this kind with more state). */
  noList?: boolean;
}

const nameSchema = z.string().min(1).max(128).describe('The definition’s name (metadata.name)');

const putBody = z
  .object({
    spec: z.record(z.string(), z.unknown()),
    metadata: z
      .object({
        displayName: z.string().max(200).optional(),
        labels: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

function view(d: Definition) {
  const { metadata, ...spec } = d.spec as { metadata?: unknown };
  return { name: d.name, kind: d.kind, version: d.version, updated_at: new Date(d.updatedAt).toISOString(), updated_by: d.updatedBy, metadata, spec };
}

export function definitionResource(definitions: DefinitionsService, o: ResourceOptions): AnyRoute[] {
  const nameParam = z.object({ id: z.string().min(1).max(128) }).strict();
  const audit = `definitions.${o.kind}`;

  async function put(tenant: string, name: string, body: z.output<typeof putBody>, actor: string, source: string) {
    const doc = { apiVersion: 'keel/v1', kind: o.kind, metadata: { name, ...body.metadata }, spec: body.spec };
    const plan = await definitions.apply(tenant, [{ file: source, content: JSON.stringify(doc, null, 2) }], actor);
    const d = await definitions.get(tenant, o.kind, name);
    return { action: plan.items[0]?.action ?? 'unchanged', diff: plan.items[0]?.diff ?? [], ...view(d!) };
  }

  const routes: AnyRoute[] = [];
  if (!o.noList) {
    routes.push(
      defineRoute({
        method: 'GET',
        url: o.path,
        summary: `List ${o.noun}s`,
        tags: [o.tag],
        permission: o.read,
        responses: [{ status: 200, description: `${o.noun}s`, schema: definitionListSchema }],
        handler: async ({ principal }) => ({ items: (await definitions.list(principal.tenant, o.kind)).map(view) }),
      }),
    );
  }
  const generated = o.generatedNamePrefix;
  // Create and replace by POST with the name in the body: names live in the caller's tenant, so
  // a URL never names something the caller could mistake for another tenant's.
  const applyBody = putBody.extend({ name: generated ? nameSchema.optional() : nameSchema }).strict();
  routes.push(
    defineRoute({
      method: 'GET',
      url: `${o.path}/:id`,
      summary: `Show a ${o.noun}`,
      tags: [o.tag],
      permission: o.read,
      params: nameParam,
      responses: [{ status: 200, description: `The ${o.noun}`, schema: definitionViewSchema }],
      handler: async ({ params, principal }) => {
        const d = await definitions.get(principal.tenant, o.kind, params.id);
        if (!d) throw new KeelError('not_found', `${o.noun} "${params.id}" not found`);
        return view(d);
      },
    }),
    defineRoute({
      method: 'POST',
      url: o.path,
      summary: `Create or replace a ${o.noun} (an apply of one ${o.kind} document)${generated ? '; named for you unless `name` is given' : ''}`,
      description: `Body: \`{"name": "...", "spec": {...}, "metadata": {...}}\`, the spec as in a \`keel/v1 ${o.kind}\` YAML document. Validated and versioned like \`keel apply\`; errors name the field path. The answer says whether it was created, updated or unchanged.`,
      tags: [o.tag],
      permission: o.write,
      audit,
      body: applyBody,
      responses: [
        { status: 200, description: `The ${o.noun}, and whether it was created, updated or unchanged` },
        { status: 400, description: 'Invalid spec or unknown references' },
      ],
      handler: async ({ body, principal, audit: note }) => {
        const { name: given, ...rest } = body;
        const name = given ?? `${generated}-${randomBase62(8).toLowerCase()}`;
        const r = await put(principal.tenant, name, rest, principal.actor, `POST ${o.path} ${name}`);
        if (r.action !== 'unchanged') note({ target: `${o.kind}/${name}`, after: { action: r.action, diff: r.diff } });
        return r;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: `${o.path}/:id`,
      summary: `Delete a ${o.noun} (refused while others reference it)`,
      tags: [o.tag],
      permission: o.write,
      audit,
      params: nameParam,
      responses: [
        { status: 200, description: 'The deleted definition' },
        { status: 409, description: 'Still referenced' },
      ],
      handler: async ({ params, principal, audit: note }) => {
        const d = await definitions.remove(principal.tenant, o.kind, params.id, principal.actor);
        note({ target: `${o.kind}/${params.id}`, before: d.spec });
        return view(d);
      },
    }),
  );
  return routes;
}
