/** HTTP routes of ingest: send events, read them back. */
import { z } from 'zod';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { timeParam, timeText } from '../core/time-input.js';
import { SENT, defineRoute, type AnyRoute } from '../api/route.js';
import type { EventLog } from '../log/event-log.js';
import type { KeelMetrics } from '../telemetry/metrics.js';
import { ingestRefusal } from './admission.js';
import { INGEST_CONTENT_TYPES, type IngestService } from './ingest-service.js';
import type { IngestLimits } from './limits.js';
import { readEvents } from './read-events.js';
import { eventPageSchema, ingestAnswerSchema } from './schemas.js';

const eventsQuery = z
  .object({
    from: timeText.optional().describe('Events at or after this time (RFC 3339, date, epoch ms, now-24h or 7d).'),
    to: timeText.optional().describe('Events before this time (RFC 3339, date, epoch ms, now-24h or 7d).'),
    limit: z.coerce.number().int().min(1).max(10_000).default(100),
    cursor: z.string().max(200).optional().describe('Continue after the last event of a previous page; `latest` starts after the newest stored event.'),
    wait: z.coerce.number().min(0).max(60).default(0).describe('Seconds to wait for new events when none match (long poll).'),
  })
  .strict();

declare module '../core/bus.js' {
  interface BusEvents {
    /** Every answer of `POST /v1/events` (refusals at admission and 401s included), for Keel's own SLOs. */
    'ingest.answered': { tenant: string; status: number; latencyMs: number };
  }
}

export function ingestRoutes(deps: { ingest: IngestService; log: EventLog; limits: IngestLimits; metrics: KeelMetrics; clock: Clock; bus?: Bus }): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/events',
      summary: 'Send a batch of events',
      description:
        'NDJSON (one event per line) or a JSON array; `Content-Encoding: gzip` accepted. Answers 202 once the accepted events are durable. Invalid events are rejected one by one and listed in `errors`; the valid ones are kept. `Idempotency-Key` makes a retry return the first answer without storing anything twice.',
      tags: ['events'],
      permission: 'events:write',
      auditExempt: 'the event data plane: batches are counted in metrics and kept in the log, not audited one by one',
      rawBody: { contentTypes: INGEST_CONTENT_TYPES, bodyLimit: deps.limits.maxRequestBytes },
      admission: (request) => {
        // A request with an Idempotency-Key may repeat one already answered, whose answer is given
        // even while the log refuses: its body is read and the service decides (ingest-service.ts).
        if (request.headers['idempotency-key'] !== undefined) return;
        const refusal = ingestRefusal(deps.log.health());
        if (refusal) throw refusal;
      },
      responses: [
        { status: 202, description: 'Accepted events are durable', schema: ingestAnswerSchema },
        { status: 400, description: 'Malformed or empty body' },
        { status: 413, description: 'Body or event count over the limit' },
        { status: 415, description: 'Unsupported Content-Type or Content-Encoding' },
        { status: 422, description: 'Idempotency-Key reused for a different body' },
        { status: 429, description: 'Tenant over its ingest quota (see Retry-After)' },
        {
          status: 503,
          description:
            '`unavailable`: the event log cannot store events now (NATS down, no quorum), answered before the body is read (with an Idempotency-Key the body is read: a repeat of a request already answered gets that answer, 202, even then); `overloaded`: over its disk or lag limit; `outcome_unknown`: the log did not confirm the append in time, retry with the Idempotency-Key in `error.details` (see README). All with Retry-After',
        },
      ],
      handler: async ({ request, reply, principal }) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const answer = await deps.ingest.ingest({
          tenant: principal.tenant,
          contentType: request.headers['content-type'],
          contentEncoding: request.headers['content-encoding'],
          idempotencyKey: header(request.headers['idempotency-key']),
          body,
        });
        void reply.code(202).type('application/json').send(answer);
        return SENT;
      },
      onResponse: (request, reply) => {
        deps.metrics.ingestRequests.inc({ tenant: request.principal?.tenant ?? '', status: String(reply.statusCode) });
        deps.bus?.emit('ingest.answered', { tenant: request.principal?.tenant ?? '', status: reply.statusCode, latencyMs: reply.elapsedTime });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/events',
      summary: 'Read stored events',
      description:
        'Events of the key’s tenant in the order Keel received them, filtered by event time, paged by `cursor`. With `wait`, an empty page waits for new events, which is how `keel events tail` follows the stream.',
      tags: ['events'],
      permission: 'events:read',
      query: eventsQuery,
      // A long poll may wait 60 s for events.
      timeoutMs: 90_000,
      responses: [{ status: 200, description: 'A page of events', schema: eventPageSchema }],
      handler: async ({ query, principal, request }) => {
        const fromTs = timeParam('from', query.from, undefined, deps.clock.now());
        const toTs = timeParam('to', query.to, undefined, deps.clock.now());
        const q = {
          tenant: principal.tenant,
          limit: query.limit,
          ...(fromTs !== undefined ? { fromTs } : {}),
          ...(toTs !== undefined ? { toTs } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        };
        let page = await readEvents(deps.log, q);
        const deadline = Date.now() + query.wait * 1000;
        while (page.events.length === 0 && Date.now() < deadline && !request.raw.destroyed) {
          await new Promise((r) => setTimeout(r, 200));
          page = await readEvents(deps.log, { ...q, cursor: page.cursor });
        }
        return page;
      },
    }),
  ];
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
