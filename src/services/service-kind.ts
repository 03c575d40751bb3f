/**
 * `Service`: one entity shared by SLOs (OpenSLO's Service) and paging (who is woken when it
 * breaks). Accepted as `openslo/v1` (description only, as OpenSLO defines it) or `keel/v1`, whose
 * spec adds Keel's own fields. Paging extends `keelServiceSpec` with its fields.
 */
import { z } from 'zod';
import type { KindHandler } from '../definitions/kinds.js';
import { documentSchema, type Metadata } from '../definitions/metadata.js';
import { parseWith } from '../definitions/zod-errors.js';
import { pagingReferencesTo, servicePagingFields, validateServicePaging, type ServicePaging } from '../paging/routing/service-paging.js';
import { servicePagingWarnings } from '../paging/routing/slo-pages.js';

export const openSloServiceSpec = z.object({ description: z.string().max(1050).optional() }).strict();

export const keelServiceSpec = z
  .object({
    description: z.string().max(1050).optional(),
    ...servicePagingFields,
  })
  .strict();

export interface ServiceSpec extends ServicePaging {
  metadata: Metadata;
  description?: string | undefined;
}

export const SERVICE_KIND_ORDER = 10;

export function serviceKind(): KindHandler<ServiceSpec> {
  return {
    apiVersions: ['openslo/v1', 'keel/v1'],
    kind: 'Service',
    order: SERVICE_KIND_ORDER,
    parse: (doc) => {
      const schema = documentSchema(doc.apiVersion === 'openslo/v1' ? openSloServiceSpec : keelServiceSpec);
      const r = parseWith(schema, { ...doc, spec: doc.spec ?? {} });
      if (!r.ok) return r;
      const { metadata, spec } = r.spec;
      return { ok: true, spec: { metadata, ...spec } };
    },
    validate: (spec, _name, ctx) => validateServicePaging(spec, ctx),
    warnings: (spec, name, ctx) => servicePagingWarnings(name, spec, ctx),
    // Which of its SLOs page depends on those SLOs and on alert policies and conditions.
    warnsAbout: (name, changed) => (changed.kind === 'SLO' ? (changed.spec as { service?: string }).service === name : changed.kind === 'AlertPolicy' || changed.kind === 'AlertCondition'),
    validateDelete: (name, ctx) => {
      const users = ctx.all('SLO').filter((d) => (d.spec as { service?: string }).service === name);
      return [...(users.length ? [{ path: [], message: `Service ${name} is used by SLO ${users.map((u) => u.name).join(', ')}` }] : []), ...pagingReferencesTo(name, ctx)];
    },
  };
}
