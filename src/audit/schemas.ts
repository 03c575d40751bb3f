/**
 * What the audit routes answer, as zod schemas: the OpenAPI description documents them, the CLI
 * infers its types from them, and every test runs with `server.checkResponses`, so an answer that
 * drifts from its schema is a 500. Shapes follow `audit-query.ts` (entryView) and `verify-chain.ts`.
 */
import { z } from 'zod';

const hash = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .describe('SHA-256, hex');

export const auditEntrySchema = z
  .object({
    seq: z.number().int().describe('Position in the chain, from 1'),
    at: z.string().describe('RFC 3339'),
    at_ms: z.number().int().describe('`at` in epoch ms, as hashed'),
    actor: z.string().describe('`key:<prefix>`, `user:<email>` or a process'),
    action: z.string().describe('e.g. `keys.create`, `auth.sign_in`'),
    tenant: z.string(),
    target: z.string(),
    before: z.unknown().describe('The target before the change (secrets redacted); null when none'),
    after: z.unknown().describe('The target after the change (secrets redacted); null when none'),
    source_ip: z.string(),
    request_id: z.string(),
    ok: z.boolean().describe('false: the request was refused or failed'),
    prev_hash: hash.describe('Hash of the entry before (the genesis hash for the first)'),
    hash,
  })
  .strict();

export const auditPageSchema = z
  .object({
    entries: z.array(auditEntrySchema),
    next_after: z.number().int().nullable().describe('Pass as `after` for the next page; null on the last page'),
  })
  .strict();

export const chainResultSchema = z
  .object({
    ok: z.boolean(),
    checked: z.number().int().describe('Entries checked'),
    first_seq: z.number().int().nullable(),
    head: z.object({ seq: z.number().int(), hash }).strict().nullable().describe('The last entry: remember it, and pass it as `anchor` later to catch entries removed from the end'),
    problem: z
      .object({
        seq: z.number().int(),
        kind: z.enum(['missing', 'out_of_order', 'altered', 'anchor_mismatch']),
        reason: z.string(),
      })
      .strict()
      .nullable()
      .describe('The first entry found changed, removed or reordered'),
  })
  .strict();

export type AuditPageAnswer = z.infer<typeof auditPageSchema>;
