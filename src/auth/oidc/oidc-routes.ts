/** HTTP routes of single sign-on: the browser flow, and the providers' configuration. */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import { ROLES } from '../../people/people-service.js';
import { setSessionCookies, type CookiePolicy } from '../session-cookies.js';
import { TENANT_ID } from '../tenants.js';
import { iso } from '../views.js';
import { OIDC_COOKIE, OidcSignIn } from './oidc-sign-in.js';
import type { SsoProvider, SsoProviderStore } from './provider-store.js';
import { signInProvidersSchema, ssoProviderListSchema, ssoProviderSchema } from './schemas.js';

const providerId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 lowercase letters, digits, "-" or "_"');
const providerParam = z.object({ provider: providerId }).strict();

function providerView(p: SsoProvider, baseUrl: string) {
  return {
    id: p.id,
    display_name: p.displayName,
    issuer: p.issuer,
    client_id: p.clientId,
    client_secret_set: p.hasClientSecret,
    scopes: p.scopes,
    default_team: p.defaultTeam,
    default_role: p.defaultRole,
    redirect_uri: OidcSignIn.redirectUri(baseUrl, p.id),
    updated_at: iso(p.updatedAt),
    updated_by: p.updatedBy,
  };
}

export function oidcRoutes(deps: { providers: SsoProviderStore; oidc: OidcSignIn; cookies: CookiePolicy; publicUrl: string | undefined }): AnyRoute[] {
  const { providers, oidc, cookies } = deps;
  const baseUrl = (req: FastifyRequest) => deps.publicUrl ?? `${req.protocol}://${req.host}`;
  const pendingCookie = { path: '/v1/auth/oidc/', httpOnly: true, sameSite: 'lax' as const, secure: cookies.secure };
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/auth/providers',
      summary: 'Single sign-on providers to offer on a sign-in page',
      tags: ['auth'],
      permission: 'public',
      responses: [{ status: 200, description: 'Providers', schema: signInProvidersSchema }],
      handler: async () => ({
        providers: (await providers.list()).map((p) => ({ id: p.id, display_name: p.displayName, login_url: `/v1/auth/oidc/${p.id}/login` })),
      }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/auth/oidc/:provider/login',
      summary: 'Start signing in with an OpenID Connect provider (redirects to it)',
      tags: ['auth'],
      permission: 'public',
      params: providerParam,
      query: z.object({ return_to: z.string().max(2000).optional().describe('Path on this server to go to after signing in') }).strict(),
      responses: [{ status: 302, description: 'To the provider: its authorization URL in `Location`, an empty body' }],
      handler: async ({ params, query, request, reply }) => {
        const { url, cookie } = await oidc.begin(params.provider, baseUrl(request), query.return_to);
        void reply.setCookie(OIDC_COOKIE, cookie, { ...pendingCookie, maxAge: 600 });
        void reply.header('location', url);
        return '';
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/auth/oidc/:provider/callback',
      summary: 'Where the provider sends the browser back; signs in (provisioning new people) and redirects',
      tags: ['auth'],
      permission: 'public',
      audit: 'auth.sign_in',
      params: providerParam,
      // The provider's parameters (code, state, iss, session_state, error...) are read by openid-client.
      query: z.record(z.string(), z.union([z.string().max(4096), z.array(z.string().max(4096))])),
      responses: [
        { status: 302, description: 'Signed in (session cookies set); `Location` is the page the sign-in started from, the body empty' },
        { status: 400, description: 'No sign-in in progress in this browser' },
        { status: 401, description: 'The provider refused, or the code exchange failed' },
      ],
      handler: async ({ params, request, reply, audit }) => {
        const base = baseUrl(request);
        const r = await oidc.complete({
          providerId: params.provider,
          baseUrl: base,
          callbackUrl: new URL(request.url, `${base}/`),
          cookie: request.cookies[OIDC_COOKIE],
          ip: request.ip,
          userAgent: String(request.headers['user-agent'] ?? ''),
          requestId: String(request.id),
        });
        setSessionCookies(reply, r.token, cookies);
        void reply.clearCookie(OIDC_COOKIE, pendingCookie);
        audit({
          actor: `user:${r.user.email}`,
          tenant: r.session.tenant,
          target: `user/${r.user.id}`,
          after: { method: `oidc:${params.provider}`, team: r.session.tenant, provisioned: r.provisioned },
        });
        void reply.header('location', r.returnTo);
        return '';
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sso/providers',
      summary: 'List single sign-on providers (client secrets are never shown)',
      tags: ['auth'],
      permission: 'system:manage',
      responses: [{ status: 200, description: 'Providers', schema: ssoProviderListSchema }],
      handler: async ({ request }) => ({ providers: (await providers.list()).map((p) => providerView(p, baseUrl(request))) }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/sso/providers/:provider',
      summary: 'Add or change an OpenID Connect provider',
      description: 'The client secret is stored sealed (AES-256-GCM) and never returned. Omit it to keep the stored one; null removes it (public client with PKCE).',
      tags: ['auth'],
      permission: 'system:manage',
      audit: 'sso.provider_set',
      params: providerParam,
      body: z
        .object({
          display_name: z.string().min(1).max(100).optional(),
          issuer: z.string().url().max(500),
          client_id: z.string().min(1).max(500),
          client_secret: z.string().min(1).max(2000).nullable().optional(),
          scopes: z
            .string()
            .regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'space-separated scopes')
            .max(500)
            .optional(),
          default_team: z.string().regex(TENANT_ID, 'must be a team (tenant) name'),
          default_role: z.enum(ROLES),
        })
        .strict(),
      responses: [{ status: 200, description: 'The provider', schema: ssoProviderSchema }],
      handler: async ({ params, body, principal, request, audit }) => {
        const { before, after } = await providers.put(
          params.provider,
          {
            issuer: body.issuer,
            clientId: body.client_id,
            defaultTeam: body.default_team,
            defaultRole: body.default_role,
            ...(body.display_name !== undefined ? { displayName: body.display_name } : {}),
            ...(body.client_secret !== undefined ? { clientSecret: body.client_secret } : {}),
            ...(body.scopes !== undefined ? { scopes: body.scopes } : {}),
          },
          principal.actor,
        );
        oidc.forget(params.provider);
        const view = providerView(after, baseUrl(request));
        audit({ target: `sso/${params.provider}`, ...(before ? { before: providerView(before, baseUrl(request)) } : {}), after: view });
        return view;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/sso/providers/:provider',
      summary: 'Remove a single sign-on provider',
      tags: ['auth'],
      permission: 'system:manage',
      audit: 'sso.provider_remove',
      params: providerParam,
      responses: [{ status: 200, description: 'The removed provider', schema: ssoProviderSchema }],
      handler: async ({ params, request, audit }) => {
        const p = await providers.remove(params.provider);
        oidc.forget(params.provider);
        const view = providerView(p, baseUrl(request));
        audit({ target: `sso/${params.provider}`, before: view });
        return view;
      },
    }),
  ];
}
