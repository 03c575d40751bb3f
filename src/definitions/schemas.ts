/** What the REST resources over definitions (`/v1/schedules`, `/v1/alert-routes`, ...) answer. */
import { z } from 'zod';

export const definitionViewSchema = z
  .object({
    name: z.string(),
    kind: z.string(),
    version: z.number().int().describe('Increases with every change'),
    updated_at: z.string().describe('RFC 3339'),
    updated_by: z.string(),
    metadata: z.record(z.string(), z.unknown()).optional().describe('displayName, labels, annotations as given'),
    spec: z.record(z.string(), z.unknown()).describe('The normalised spec, as in a keel/v1 document of the kind'),
  })
  .strict();

export const definitionListSchema = z.object({ items: z.array(definitionViewSchema) }).strict();

export type DefinitionViewAnswer = z.infer<typeof definitionViewSchema>;

/** A definition as `/v1/definitions` stores it (definitions-service.ts `Definition`). */
export const storedDefinitionSchema = z
  .object({
    kind: z.string(),
    name: z.string(),
    apiVersion: z.string(),
    spec: z.unknown().describe('The normalised document, as diffs compare it'),
    version: z.number().int().describe('Increases with every change'),
    updatedAt: z.number().int().describe('Epoch ms'),
    updatedBy: z.string(),
  })
  .strict();

const documentSchema = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: z.object({ name: z.string() }).catchall(z.unknown()),
    spec: z.record(z.string(), z.unknown()),
  })
  .strict()
  .describe('The YAML document that applies the definition again as is');

export const definitionWithDocumentSchema = storedDefinitionSchema.extend({ document: documentSchema }).strict();

export const storedDefinitionListSchema = z.object({ definitions: z.array(definitionWithDocumentSchema) }).strict();

const fieldDiffSchema = z.object({ path: z.string().describe('Dotted field path'), before: z.unknown().optional(), after: z.unknown().optional() }).strict();

export const definitionHistorySchema = z
  .object({
    versions: z.array(
      z
        .object({
          version: z.number().int(),
          action: z.string().describe('`create`, `update` or `delete`'),
          at: z.string().describe('RFC 3339'),
          actor: z.string(),
          diff: z.array(fieldDiffSchema),
          spec: z.unknown().describe('The spec after this version; null once deleted'),
        })
        .strict(),
    ),
  })
  .strict();

export const planSchema = z
  .object({
    items: z.array(
      z
        .object({
          action: z.enum(['create', 'update', 'delete', 'unchanged']),
          kind: z.string(),
          name: z.string(),
          file: z.string().optional(),
          line: z.number().int().optional(),
          diff: z.array(fieldDiffSchema),
        })
        .strict(),
    ),
    summary: z.object({ create: z.number().int(), update: z.number().int(), delete: z.number().int(), unchanged: z.number().int() }).strict(),
    warnings: z
      .array(z.object({ file: z.string(), line: z.number().int(), path: z.string(), message: z.string(), kind: z.string().optional(), name: z.string().optional() }).strict())
      .describe('Located like errors, but they do not stop the apply'),
  })
  .strict();

export type PlanAnswer = z.infer<typeof planSchema>;
