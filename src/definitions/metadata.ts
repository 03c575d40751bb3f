/**
 * The `metadata` block shared by OpenSLO and Keel documents: name (checked by the definitions
 * service), displayName, labels and annotations.
 */
import { z } from 'zod';

const labelValue = z.union([z.string(), z.array(z.string())]);

export const metadataSchema = z
  .object({
    name: z.string(),
    displayName: z.string().max(200).optional(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), labelValue).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export type Metadata = z.output<typeof metadataSchema>;

/** A document's envelope: apiVersion, kind, metadata, and the kind's own spec schema. */
export function documentSchema<S extends z.ZodType>(spec: S) {
  return z
    .object({
      apiVersion: z.string(),
      kind: z.string(),
      metadata: metadataSchema,
      spec,
    })
    .strict();
}
