/**
 * What the health, readiness and log-statistics routes answer, as zod schemas (OpenAPI documents
 * them; `server.checkResponses` checks /healthz and /v1/log in every test). /readyz sends its answer
 * itself (its status is 200 or 503), so test/telemetry/observability.test.ts parses its answers with the schema.
 */
import { z } from 'zod';

export const healthSchema = z.object({ status: z.literal('ok'), version: z.string() }).strict();

const checkSchema = z.object({ ok: z.boolean(), error: z.string().optional().describe('Why the check failed') }).strict();

export const readinessSchema = z
  .object({
    status: z.enum(['ready', 'unready']),
    checks: z.record(z.string(), checkSchema).describe('Each dependency by name (`event_log`, the store, the leases, ...)'),
    ingest: z
      .object({ refusing: z.literal(true), reason: z.string() })
      .strict()
      .optional()
      .describe('Present while the event log refuses appends (disk, size or lag over limit)'),
    // The distributed mode's facts about this process (runtime/distributed.ts).
    role: z.string().optional().describe('The process’s roles (distributed mode)'),
    holder: z.string().optional().describe('This process’s lease holder id (distributed mode)'),
    leads: z.array(z.string()).optional().describe('The leaderships this process holds (distributed mode)'),
  })
  .strict();

export const logStatsSchema = z
  .object({
    partitions: z.number().int(),
    batches: z.number().int(),
    events: z.number().int(),
    eventsEstimated: z.boolean().optional().describe('`events` is an estimate (JetStream counts messages, not events)'),
    bytes: z.number().int(),
    // Optional: only a log that knows its size on disk reports them (the embedded log; JetStream does not).
    diskBytes: z.number().int().optional().describe('Bytes the batches take on disk, where the log knows it (compacted segments hold a fraction of `bytes`)'),
    uncompactedBytes: z.number().int().optional().describe('Of `bytes`, what is still stored as received (waiting for compaction)'),
    lastPositions: z.array(z.number().int()).describe('Highest position per partition (0 when empty)'),
    consumers: z.array(
      z
        .object({
          name: z.string(),
          partition: z.number().int(),
          position: z.number().int().describe('Committed position'),
          lagEvents: z.number().int().describe('Events appended after the committed position'),
        })
        .strict(),
    ),
    health: z
      .object({
        writable: z.boolean(),
        overloaded: z.object({ reason: z.string(), retryAfterSeconds: z.number() }).strict().optional().describe('Why appends are refused right now, if they are'),
      })
      .strict(),
  })
  .strict();
