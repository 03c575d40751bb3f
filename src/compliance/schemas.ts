/**
 * What `GET /v1/compliance/report` answers (as JSON), as a zod schema: OpenAPI documents it and
 * every test runs with `server.checkResponses`. Shapes follow `report.ts` and `evidence.ts`; the
 * audit chain and encryption parts are the audit and auth domains' own answers.
 */
import { z } from 'zod';
import { chainResultSchema } from '../audit/schemas.js';
import { encryptionStatusSchema } from '../auth/schemas.js';
import { ROLES } from '../people/people-service.js';
import { SCOPES } from '../auth/permissions.js';

const time = z.string().describe('RFC 3339');
const flags = z.array(z.string()).describe('Findings and facts for the reviewer, e.g. `never signed in`, `older than 90 days`');

const evidenceSectionSchema = z
  .object({
    summary: z.string().describe('One line an auditor reads first'),
    rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))).describe('Rows of a table (same keys in every row)'),
    note: z.string().optional().describe('What this section could not cover'),
  })
  .strict();

const reportUserSchema = z
  .object({
    email: z.string(),
    name: z.string(),
    disabled: z.boolean(),
    teams: z.array(z.object({ team: z.string(), role: z.enum(ROLES) }).strict()),
    has_password: z.boolean().nullable().describe('null (and `sso` empty, sign-ins null): the person is in other teams too and the reader is one team’s admin'),
    sso: z.array(z.string()).describe('Single sign-on providers the person has signed in with'),
    last_sign_in_at: time.nullable(),
    last_sign_in_method: z.string().nullable(),
    flags,
  })
  .strict();

const reportKeySchema = z
  .object({
    id: z.string(),
    tenant: z.string(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    created_at: time,
    created_by: z.string(),
    age_days: z.number().int(),
    last_used_at: time.nullable(),
    flags,
  })
  .strict();

const count = z.number().int();

export const complianceReportSchema = z
  .object({
    generated_at: time,
    period: z.object({ from: time, to: time }).strict(),
    scope: z.string().describe('`tenant <id>` or `all tenants`'),
    access_review: z
      .object({
        users: z.array(reportUserSchema),
        api_keys: z.array(reportKeySchema).describe('Keys not revoked'),
        keys_revoked_in_period: count,
        max_key_age_days: z.number(),
        summary: z.object({ users: count, admins: count, disabled: count, never_signed_in: count, api_keys: count, api_keys_flagged: count.describe('Keys older than the maximum age') }).strict(),
      })
      .strict(),
    audit: z
      .object({
        chain: chainResultSchema,
        entries_in_period: count,
        by_action: z.record(z.string(), count),
        refused_in_period: count,
        failed_sign_ins_in_period: count,
      })
      .strict(),
    encryption: encryptionStatusSchema
      .extend({ transport: z.object({ tls: z.boolean(), session_cookie: z.string().describe('The session cookie’s attributes'), cors_origins: z.array(z.string()) }).strict() })
      .strict(),
    backups: z
      .object({
        status: z.enum(['ok', 'stale', 'none', 'not applicable']).describe('`not applicable` outside the embedded mode (the database’s own backups apply)'),
        last_backup_at: time.nullable(),
        age_hours: z.number().nullable(),
        max_age_hours: z.number(),
        in_period: count,
      })
      .strict(),
    slos: evidenceSectionSchema,
    incidents: evidenceSectionSchema,
    automated_changes: evidenceSectionSchema.optional().describe('Runbook runs and the approvals they needed (when the runbooks domain is installed)'),
  })
  .strict();
