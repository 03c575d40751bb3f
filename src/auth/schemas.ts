/**
 * What the routes of keys, tenants, users, sessions and stored secrets answer, as zod schemas: the
 * OpenAPI description documents them, the CLI infers its types from them, and every test runs with
 * `server.checkResponses`, so an answer that drifts from its schema is a 500. Shapes follow
 * `routes.ts` (keyView, tenantView), `views.ts` (userView) and `secret-rotation.ts`.
 */
import { z } from 'zod';
import { ROLES } from '../people/people-service.js';
import { SCOPES } from './permissions.js';

const time = z.string().describe('RFC 3339');
const role = z.enum(ROLES);
const teamRole = z.object({ team: z.string(), role }).strict();

export const keyViewSchema = z
  .object({
    id: z.string(),
    tenant: z.string(),
    name: z.string(),
    prefix: z.string().describe('The first characters of the key, to recognise it by (the key itself is shown once, at creation)'),
    scopes: z.array(z.enum(SCOPES)),
    created_at: time,
    created_by: z.string().describe('Actor who created it: `key:<prefix>`, `user:<email>` or `bootstrap`'),
    revoked_at: time.nullable(),
    last_used_at: time.nullable(),
  })
  .strict();

export const createdKeySchema = keyViewSchema
  .extend({
    key: z.string().describe('The key: shown in this answer only, Keel keeps its hash'),
    tenant_created: z.boolean().describe('The tenant did not exist and was created with the key'),
  })
  .strict();

export const keyListSchema = z.object({ keys: z.array(keyViewSchema) }).strict();

export const tenantViewSchema = z
  .object({
    id: z.string(),
    created_at: time,
    events_per_second: z.number().describe('Ingest quota (the configured default unless set for the tenant)'),
    burst: z.number(),
    quota_is_default: z.boolean().describe('Neither rate nor burst is set for the tenant: the configured defaults apply'),
    paused: z.boolean().describe('Ingest refused while paused'),
  })
  .strict();

export const tenantListSchema = z.object({ tenants: z.array(tenantViewSchema) }).strict();

export const userViewSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    time_zone: z.string().describe('IANA time zone'),
    disabled: z.boolean(),
    created_at: time,
    role: role.optional().describe('Role in the team the request addresses'),
    teams: z.array(teamRole).optional().describe('Every team of the person (shown to admins of the system tenant)'),
    has_password: z.boolean().nullable().describe('null (and the sign-in fields null): the person is in other teams too, so their sign-in record is not one team’s to see'),
    password_changed_at: time.nullable(),
    last_sign_in_at: time.nullable(),
    last_sign_in_method: z.string().nullable().describe('`password` or `oidc:<provider>`'),
  })
  .strict();

export const userListSchema = z.object({ team: z.string(), users: z.array(userViewSchema) }).strict();

/** POST /v1/users: a new person (or any, for system admins) in full; an existing one as the membership only. */
export const addedUserSchema = z.union([
  userViewSchema.extend({ team: z.string() }).strict(),
  z.object({ id: z.string(), email: z.string(), team: z.string(), role, profile: z.string().describe('Why the profile is not shown: it is the person’s own') }).strict(),
]);

export const passwordSetSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    password_set: z.literal(true),
    opens: z.union([z.literal('all their teams'), z.array(z.string())]).describe('The teams a sign-in with this password opens'),
  })
  .strict();

export const userRemovedSchema = z.object({ id: z.string(), email: z.string(), team: z.string(), removed: z.literal(true) }).strict();

const signedInFields = {
  user: userViewSchema,
  team: z.string().describe('The team this session acts on'),
  role,
  teams: z.array(teamRole).describe('The teams this session opens'),
  csrf_token: z.string().describe('Send it back in `X-CSRF-Token` with every change made with the session cookie'),
};

export const signedInSchema = z.object({ ...signedInFields, expires_at: time }).strict();

export const sessionSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('key'),
      tenant: z.string(),
      key: z.object({ id: z.string(), prefix: z.string(), scopes: z.array(z.enum(SCOPES)) }).strict(),
      superuser: z.boolean().describe('An admin of the system tenant: acts on every tenant'),
      permissions: z.array(z.string()),
    })
    .strict(),
  z
    .object({
      kind: z.literal('user'),
      ...signedInFields,
      superuser: z.boolean(),
      permissions: z.array(z.string()),
      session: z.object({ method: z.string(), created_at: time, expires_at: time }).strict().nullable(),
    })
    .strict(),
]);

export const signedOutSchema = z.object({ signed_out: z.literal(true) }).strict();

export const passwordChangedSchema = z.object({ changed: z.literal(true) }).strict();

export const sessionTeamSchema = z.object({ team: z.string(), role }).strict();

const columnStatusSchema = z
  .object({
    table: z.string(),
    column: z.string(),
    description: z.string(),
    values: z.number().int(),
    by_key: z.record(z.string(), z.number().int()).describe('Sealed values per key id'),
    not_sealed: z.number().int().describe('Plaintext values where a sealed value belongs'),
  })
  .strict();

export const encryptionStatusSchema = z
  .object({
    algorithm: z.literal('AES-256-GCM'),
    key_source: z.enum(['env', 'file']),
    key_location: z.string().describe('The environment variable or the key file path (never the key)'),
    current_key_id: z.string(),
    key_ids: z.array(z.string()),
    columns: z.array(columnStatusSchema),
    total_values: z.number().int(),
    under_older_keys: z.number().int().describe('Values sealed with a key other than the current one (rotation pending)'),
    unreadable: z.number().int().describe('Values sealed with a key that is not configured: they cannot be opened'),
    not_sealed: z.number().int(),
  })
  .strict();

export const rotationSchema = z
  .object({
    new_key_id: z.string().optional(),
    reencrypted: z.number().int(),
    retired_key_ids: z.array(z.string()).describe('Keys nothing needs any more, removed from the key file'),
    status: encryptionStatusSchema,
  })
  .strict();

export type KeyViewAnswer = z.infer<typeof keyViewSchema>;
export type CreatedKeyAnswer = z.infer<typeof createdKeySchema>;
export type KeyListAnswer = z.infer<typeof keyListSchema>;
export type UserViewAnswer = z.infer<typeof userViewSchema>;
export type UserListAnswer = z.infer<typeof userListSchema>;
export type AddedUserAnswer = z.infer<typeof addedUserSchema>;
