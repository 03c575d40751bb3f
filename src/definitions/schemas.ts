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
