/** What the ingest routes answer, as zod schemas (OpenAPI; the CLI infers its types from them). */
import { z } from 'zod';

export const ingestAnswerSchema = z.object({
  accepted: z.number().int(),
  rejected: z.number().int(),
  errors: z.array(
    z.object({
      index: z.number().int(),
      line: z.number().int().optional(),
      field: z.string(),
      reason: z.string(),
      code: z.string(),
    }),
  ),
});

export const eventPageSchema = z
  .object({
    events: z.array(z.record(z.string(), z.unknown())).describe('Events as stored, each with its `ts`'),
    cursor: z.string().describe('Pass back as `cursor` to continue after the last event'),
    has_more: z.boolean().describe('More matching events are stored right now'),
  })
  .strict();

export type IngestAnswer = z.infer<typeof ingestAnswerSchema>;
export type EventPageAnswer = z.infer<typeof eventPageSchema>;
