/** What the single sign-on routes answer, as zod schemas (see `../schemas.ts` for why). */
import { z } from 'zod';
import { ROLES } from '../../people/people-service.js';

export const signInProvidersSchema = z
  .object({
    providers: z.array(z.object({ id: z.string(), display_name: z.string(), login_url: z.string().describe('Path that starts signing in with the provider') }).strict()),
  })
  .strict();

export const ssoProviderSchema = z
  .object({
    id: z.string(),
    display_name: z.string(),
    issuer: z.string().describe('OpenID Connect issuer URL'),
    client_id: z.string(),
    client_secret_set: z.boolean().describe('A client secret is stored (sealed; never shown); false: a public client with PKCE'),
    scopes: z.string().describe('Space-separated scopes asked for'),
    default_team: z.string().describe('Team a person signing in for the first time joins'),
    default_role: z.enum(ROLES),
    redirect_uri: z.string().describe('The callback URL to register with the provider'),
    updated_at: z.string().describe('RFC 3339'),
    updated_by: z.string(),
  })
  .strict();

export const ssoProviderListSchema = z.object({ providers: z.array(ssoProviderSchema) }).strict();
