/**
 * What the alert-routing routes answer, as zod schemas: the OpenAPI description documents them, the
 * CLI infers its types from them, and every test runs with `server.checkResponses`, so an answer
 * that drifts from its schema is a 500. Shapes follow `alert-list.ts` (listPagingAlerts).
 */
import { z } from 'zod';

const time = z.string().describe('RFC 3339');

export const pagingAlertSchema = z
  .object({
    id: z.string(),
    dedup_key: z.string(),
    source: z.string().describe('alertmanager, events-v2, heartbeat, slo, ...'),
    status: z.enum(['firing', 'resolved']),
    severity: z.string(),
    summary: z.string(),
    labels: z.record(z.string(), z.string()),
    count: z.number().int().describe('Signals received under the dedup key while open'),
    first_seen: time,
    last_seen: time,
    resolved_at: time.nullable(),
    acknowledged_at: time.nullable().describe('Set by an Events v2 `acknowledge`'),
    paging: z
      .object({
        service: z.string().nullable(),
        route: z.string().nullable().describe('Route that matched; `(service)` when the source named the service; null when unrouted'),
        incident_id: z.string().nullable(),
        suppressed_by: z.string().nullable().describe('`silence/<name>` or `maintenance/<name>` when notifications were suppressed'),
      })
      .strict()
      .nullable()
      .describe('What paging decided; null until the paging consumer has read the alert'),
  })
  .strict();

export const pagingAlertListSchema = z.object({ alerts: z.array(pagingAlertSchema), next_cursor: z.string().nullable().describe('Continues after the last alert; null on the last page') }).strict();

export type PagingAlertListAnswer = z.infer<typeof pagingAlertListSchema>;
