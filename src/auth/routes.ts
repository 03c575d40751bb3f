/** HTTP routes for tenants and API keys. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import { KeelError } from '../core/errors.js';
import type { ApiKeyService, ApiKeyInfo } from './api-keys.js';
import { SCOPES } from './permissions.js';
import type { Principal } from './principal.js';
import { createdKeySchema, keyListSchema, keyViewSchema, tenantListSchema, tenantViewSchema } from './schemas.js';
import { SYSTEM_TENANT, TENANT_ID, type Tenant, type TenantService } from './tenants.js';

const scopeList = z.array(z.enum(SCOPES)).min(1);

const createKeyBody = z
  .object({
    tenant: z.string().regex(TENANT_ID, 'must be 1-63 lowercase letters, digits, "-" or "_"').optional(),
    name: z.string().max(200).optional(),
    scopes: scopeList,
  })
  .strict();

const tenantBody = z
  .object({
    id: z.string().regex(TENANT_ID, 'must be 1-63 lowercase letters, digits, "-" or "_"'),
    eventsPerSecond: z.number().positive().nullable().optional(),
    burst: z.number().positive().nullable().optional(),
  })
  .strict();

const tenantPatch = z
  .object({
    eventsPerSecond: z.number().positive().nullable().optional(),
    burst: z.number().positive().nullable().optional(),
    paused: z.boolean().optional(),
  })
  .strict();

const idParam = z.object({ id: z.string().min(1).max(100) }).strict();

/** A principal may act on its own tenant; the system tenant's admins act on all. */
export function assertTenantAccess(p: Principal, tenant: string): void {
  if (p.superuser || p.tenant === tenant) return;
  // 404, not 403: another tenant's existence is not something to confirm.
  throw new KeelError('not_found', `tenant "${tenant}" not found`);
}

function keyView(k: ApiKeyInfo) {
  return {
    id: k.id,
    tenant: k.tenant,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    created_at: new Date(k.createdAt).toISOString(),
    created_by: k.createdBy,
    revoked_at: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
    last_used_at: k.lastUsedAt === null ? null : new Date(k.lastUsedAt).toISOString(),
  };
}

function tenantView(t: Tenant, defaults: { eventsPerSecond: number; burst: number }) {
  return {
    id: t.id,
    created_at: new Date(t.createdAt).toISOString(),
    events_per_second: t.eventsPerSecond ?? defaults.eventsPerSecond,
    burst: t.burst ?? defaults.burst,
    quota_is_default: t.eventsPerSecond === null && t.burst === null,
    paused: t.paused,
  };
}

export function authRoutes(deps: { keys: ApiKeyService; tenants: TenantService; quotaDefaults: { eventsPerSecond: number; burst: number } }): AnyRoute[] {
  const { keys, tenants, quotaDefaults } = deps;
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/keys',
      summary: 'Create an API key',
      description: 'The key is in the answer once and never again; Keel keeps only its hash. Creating a key for a tenant that does not exist creates the tenant.',
      tags: ['keys'],
      permission: 'keys:manage',
      audit: 'keys.create',
      body: createKeyBody,
      responses: [{ status: 201, description: 'The new key (shown once)', schema: createdKeySchema }],
      handler: async ({ body, principal, audit }) => {
        const tenant = body.tenant ?? principal.tenant;
        assertTenantAccess(principal, tenant);
        const created = await keys.create({
          tenant,
          scopes: body.scopes,
          createdBy: principal.actor,
          ...(body.name !== undefined ? { name: body.name } : {}),
        });
        const view = keyView(created.info);
        audit({ target: `key/${created.info.id}`, tenant, after: view });
        return { ...view, key: created.key, tenant_created: created.tenantCreated };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/keys',
      summary: 'List API keys (prefixes only)',
      tags: ['keys'],
      permission: 'keys:manage',
      query: z
        .object({
          tenant: z.string().optional(),
          include_revoked: z.enum(['true', 'false']).optional(),
        })
        .strict(),
      responses: [{ status: 200, description: 'Keys', schema: keyListSchema }],
      handler: async ({ query, principal }) => {
        const tenant = principal.superuser ? query.tenant : principal.tenant;
        if (query.tenant) assertTenantAccess(principal, query.tenant);
        const list = await keys.list({ ...(tenant ? { tenant } : {}), includeRevoked: query.include_revoked === 'true' });
        return { keys: list.map(keyView) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/keys/:id',
      summary: 'Revoke an API key',
      tags: ['keys'],
      permission: 'keys:manage',
      audit: 'keys.revoke',
      params: idParam,
      responses: [{ status: 200, description: 'The revoked key', schema: keyViewSchema }],
      handler: async ({ params, principal, audit }) => {
        const k = await keys.get(params.id);
        // Another team's key answers exactly as an unknown id: its existence is not confirmed.
        if (!k || !(principal.superuser || principal.tenant === k.tenant)) throw new KeelError('not_found', `API key ${params.id} not found`);
        const { before, after } = await keys.revoke(params.id);
        audit({ target: `key/${params.id}`, tenant: k.tenant, before: keyView(before), after: keyView(after) });
        return keyView(after);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/tenants',
      summary: 'List tenants',
      tags: ['tenants'],
      permission: 'tenants:read',
      responses: [{ status: 200, description: 'Tenants visible to the key', schema: tenantListSchema }],
      handler: async ({ principal }) => {
        const list = principal.superuser ? await tenants.list() : [await tenants.require(principal.tenant)];
        return { tenants: list.map((t) => tenantView(t, quotaDefaults)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/tenants/:id',
      summary: 'Show a tenant and its quota',
      tags: ['tenants'],
      permission: 'tenants:read',
      params: idParam,
      responses: [{ status: 200, description: 'The tenant', schema: tenantViewSchema }],
      handler: async ({ params, principal }) => {
        assertTenantAccess(principal, params.id);
        return tenantView(await tenants.require(params.id), quotaDefaults);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/tenants',
      summary: 'Create a tenant',
      tags: ['tenants'],
      permission: 'tenants:manage',
      audit: 'tenants.create',
      body: tenantBody,
      responses: [{ status: 201, description: 'The tenant', schema: tenantViewSchema }],
      handler: async ({ body, principal, audit }) => {
        if (!principal.superuser) {
          throw new KeelError('forbidden', `only admins of the "${SYSTEM_TENANT}" tenant create tenants`);
        }
        const existing = await tenants.get(body.id);
        if (existing) throw new KeelError('conflict', `tenant "${body.id}" already exists`);
        const { tenant } = await tenants.ensure(body.id, {
          ...(body.eventsPerSecond !== undefined ? { eventsPerSecond: body.eventsPerSecond } : {}),
          ...(body.burst !== undefined ? { burst: body.burst } : {}),
        });
        const view = tenantView(tenant, quotaDefaults);
        audit({ target: `tenant/${tenant.id}`, tenant: tenant.id, after: view });
        return view;
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/tenants/:id',
      summary: 'Change a tenant’s quota, or pause its ingest',
      tags: ['tenants'],
      permission: 'tenants:manage',
      audit: 'tenants.update',
      params: idParam,
      body: tenantPatch,
      responses: [{ status: 200, description: 'The tenant', schema: tenantViewSchema }],
      handler: async ({ params, body, principal, audit }) => {
        if (!principal.superuser) {
          assertTenantAccess(principal, params.id);
          throw new KeelError('forbidden', `only admins of the "${SYSTEM_TENANT}" tenant change quotas`);
        }
        const { before, after } = await tenants.update(params.id, body);
        audit({ target: `tenant/${params.id}`, tenant: params.id, before: tenantView(before, quotaDefaults), after: tenantView(after, quotaDefaults) });
        return tenantView(after, quotaDefaults);
      },
    }),
  ];
}
