/** What `GET /v1/verify/counts` answers, as a zod schema (OpenAPI; the CLI infers its type from it). */
import { z } from 'zod';

const time = z.string().describe('RFC 3339');
const usageFigures = z.object({ events: z.number().int(), bytes: z.number().int() }).strict();
const sloFigures = z.object({ good: z.number(), bad: z.number(), total: z.number() }).strict();
const batchIds = z.array(z.string()).describe('Ids of the log’s batches for it (up to 50)');

export const verifyCountsSchema = z
  .object({
    ok: z.boolean().describe('false when any counter differs from the log'),
    since: time,
    log: z.object({ completeFrom: time.nullable().describe('The log holds every batch that arrived from here on; null when it holds all it ever took') }).strict(),
    buckets: z.number().int().describe('Usage buckets compared'),
    partitions: z.array(
      z
        .object({
          partition: z.number().int(),
          position: z.number().int().describe('The usage processor’s committed position'),
          positions: z.record(z.string(), z.number().int()).describe('Committed position per processor read up to'),
          batchesRead: z.number().int(),
        })
        .strict(),
    ),
    differences: z
      .array(z.object({ partition: z.number().int(), tenant: z.string(), minute: time, log: usageFigures, counted: usageFigures, batches: batchIds }).strict())
      .describe('Usage differences per partition, tenant and minute of arrival'),
    usage: z
      .object({
        from: time.describe('First minute compared'),
        limitedBy: z.enum(['log retention', 'usage retention']).nullable().describe('Why `from` is later than `since`, if it is'),
        buckets: z.number().int(),
        differences: z.number().int(),
      })
      .strict(),
    slo: z
      .object({
        buckets: z.number().int(),
        compared: z.array(
          z
            .object({
              tenant: z.string(),
              slo: z.string(),
              generation: z.string(),
              appliedAt: time,
              fineFrom: time.describe('First bucket compared at 10 s'),
              from: time.describe('First bucket compared at coarser resolutions'),
              limitedBy: z.enum(['log retention', 'slo retention']).nullable(),
            })
            .strict(),
        ),
        skipped: z.array(z.object({ tenant: z.string(), slo: z.string(), generation: z.string(), reason: z.string() }).strict()),
        notCompared: z.string().describe('What this check never compares'),
        differenceCount: z.number().int().describe('Differences found (the list stops at 500)'),
        differences: z.array(
          z
            .object({
              tenant: z.string(),
              slo: z.string(),
              generation: z.string(),
              objective: z.number().int(),
              resolution: z.number().int().describe('Bucket size in seconds: 10, 60, 3600 or 86400'),
              bucket: time,
              log: sloFigures,
              counted: sloFigures,
              batches: batchIds,
              partitions: z.array(z.number().int()),
            })
            .strict(),
        ),
      })
      .strict(),
  })
  .strict();

export type VerifyCountsAnswer = z.infer<typeof verifyCountsSchema>;
