/**
 * The `Limit` kind (keel apply): a limit of the user's own platform whose usage comes from the
 * tenant's events. A CEL `filter` picks the events, `usage.field` is the number read from each,
 * aggregated per minute (max, sum or avg); `capacity` is a number or another field.
 *
 *   apiVersion: keel/v1
 *   kind: Limit
 *   metadata: { name: cluster-cpu }
 *   spec:
 *     title: Cluster CPU cores
 *     unit: cores
 *     filter: 'source == "k8s" && metric == "cpu"'
 *     usage: { field: cpu.used, aggregate: max }
 *     capacity: { field: cpu.allocatable }     # or a number: 64
 *     horizon: 30d
 */
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { analyzeCel } from '../cel/compile.js';
import type { FieldError, KindHandler } from '../definitions/kinds.js';
import { specParser, type WithMetadata } from '../definitions/spec-parser.js';
import type { Database } from '../store/schema.js';
import { parseHorizon } from './forecast-input.js';
import { KeelError } from '../core/errors.js';

const FIELD = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;
const fieldPath = z.string().max(200).regex(FIELD, 'a dotted attribute path such as cpu.used');
const aggregate = z.enum(['max', 'sum', 'avg']);
/** Capacities above this are a typo, not a resource (and lose integer precision as doubles). */
export const MAX_CAPACITY = 1e18;

export const limitSpecSchema = z
  .object({
    title: z.string().min(1).max(200).optional(),
    unit: z.string().max(40).optional(),
    description: z.string().max(2000).optional(),
    filter: z.string().min(1).max(4096).optional(),
    usage: z.object({ field: fieldPath, aggregate: aggregate.default('max') }).strict(),
    capacity: z.union([
      z.number().refine((n) => Number.isFinite(n) && n > 0 && n <= MAX_CAPACITY, `must be a number above 0 and at most ${MAX_CAPACITY}`),
      z.object({ field: fieldPath, aggregate: aggregate.default('max') }).strict(),
    ]),
    horizon: z.string().max(20).optional(),
  })
  .strict();

export type LimitSpec = WithMetadata<z.output<typeof limitSpecSchema>>;
export type LimitAggregate = z.output<typeof aggregate>;

export function splitField(field: string): string[] {
  return field.split('.');
}

function check(s: z.output<typeof limitSpecSchema>): FieldError[] {
  const errors: FieldError[] = [];
  if (s.filter !== undefined) {
    const r = analyzeCel(s.filter, 'bool');
    if (!r.ok) errors.push({ path: ['filter'], message: `${r.problem.message} (at character ${r.problem.offset + 1})` });
  }
  if (s.horizon !== undefined) {
    try {
      parseHorizon(s.horizon, 'spec.horizon');
    } catch (e) {
      errors.push({ path: ['horizon'], message: e instanceof KeelError ? e.message.replace(/^spec\.horizon: /, '') : 'invalid horizon' });
    }
  }
  if (typeof s.capacity === 'object' && s.capacity.field === s.usage.field) errors.push({ path: ['capacity', 'field'], message: 'is the usage field itself: utilisation would always be 100 %' });
  return errors;
}

export const parseLimitDocument = specParser(limitSpecSchema, check);

/** The attributes a Limit reads, with where they are written (for plan warnings). */
export function limitAttributeUses(spec: LimitSpec): { path: string[]; reader: string; consequence: string; field: (string | number)[] }[] {
  const out = [{ path: splitField(spec.usage.field), reader: 'usage field', consequence: 'the limit has no usage', field: ['spec', 'usage', 'field'] as (string | number)[] }];
  if (typeof spec.capacity === 'object') out.push({ path: splitField(spec.capacity.field), reader: 'capacity field', consequence: 'the limit has no capacity', field: ['spec', 'capacity', 'field'] });
  if (spec.filter !== undefined) {
    const r = analyzeCel(spec.filter, 'bool');
    if (r.ok) for (const p of r.analysis.paths) if (p[0] !== 'ts') out.push({ path: p, reader: 'filter', consequence: 'the filter matches no event', field: ['spec', 'filter'] });
  }
  return out;
}

export function limitKind(o: { unseen(tenant: string, uses: ReturnType<typeof limitAttributeUses>): Promise<ReturnType<typeof limitAttributeUses>> }): KindHandler<LimitSpec> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'Limit',
    order: 40,
    parse: parseLimitDocument,
    warnings: async (spec, _name, ctx) => {
      const unseen = await o.unseen(ctx.tenant, limitAttributeUses(spec));
      return unseen.map((u) => ({ path: u.field, message: `no recent event of this tenant has the attribute "${u.path.join('.')}" (read by the ${u.reader}): ${u.consequence}; check the name` }));
    },
    onChange: async (trx: Transaction<Database>, tenant, change) => {
      if (change.action === 'delete') {
        await trx.deleteFrom('capacity_limits').where('tenant_id', '=', tenant).where('name', '=', change.name).execute();
        return;
      }
      const spec = JSON.stringify(change.after!.spec);
      const now = change.after!.updatedAt;
      await trx
        .insertInto('capacity_limits')
        .values({ tenant_id: tenant, name: change.name, spec, updated_at: now })
        .onConflict((oc) => oc.columns(['tenant_id', 'name']).doUpdateSet({ spec, updated_at: now }))
        .execute();
    },
  };
}
