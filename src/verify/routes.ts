/** GET /v1/verify/counts: usage and SLO counters against the readable event log. */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import { timeParam, timeText } from '../core/time-input.js';
import { verifyCountsSchema } from './schemas.js';
import type { VerifyCountsService } from './verify-counts.js';

const verifyQuery = z
  .object({
    since: timeText
      .optional()
      .describe(
        "Compare from this time on (RFC 3339, date, epoch ms, now-24h or 7d); default one hour ago. What the log's or the counters' retention removed is not compared (the answer says from when it compared).",
      ),
  })
  .strict();

const iso = (ms: number) => new Date(ms).toISOString();

export function verifyRoutes(deps: { verify: VerifyCountsService; now: () => number }): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/verify/counts',
      summary: 'Recompute usage and SLO totals from the readable event log and compare them with the counters',
      description:
        "Reads every partition of the log up to the `usage` and `slo` processors' committed positions (one snapshot with the counters), folds it as the processors do, and compares: usage per partition, tenant and minute of arrival (`differences`), SLO good/total per SLO, objective, resolution and bucket of event time (`slo.differences`, overall series of fully backfilled generations; `slo.skipped` names what was not compared and why). `ok` is false when anything differs; each difference names the figures and the ids and partitions of the log's batches for it. Only ranges the log and the counters still fully hold are compared (`usage.from`, `slo.slos[].from`). Reads the log from its start: on a large log this takes a while.",
      tags: ['capacity', 'slo', 'operations'],
      permission: 'system:read',
      query: verifyQuery,
      timeoutMs: 600_000,
      responses: [
        { status: 200, description: 'The comparison (`ok: false` when a counter differs from the log)', schema: verifyCountsSchema },
        { status: 400, description: 'Invalid `since`' },
      ],
      handler: async ({ query }) => {
        const now = deps.now();
        const since = timeParam('since', query.since, now - 3_600_000, now);
        const r = await deps.verify.run(since, now);
        const { usage, slo } = r;
        return {
          ok: usage.differences.length === 0 && slo.differenceCount === 0,
          since: iso(since),
          log: { completeFrom: r.logCompleteFrom === undefined ? null : iso(r.logCompleteFrom) },
          // Usage, at the top level as before SLO totals were checked too.
          buckets: usage.buckets,
          partitions: r.partitions.map((p) => ({ partition: p.partition, position: p.positions.usage ?? 0, positions: p.positions, batchesRead: p.batchesRead })),
          differences: usage.differences.map((d) => ({ ...d, minute: iso(d.minute) })),
          usage: { from: iso(usage.from), limitedBy: usage.limitedBy ?? null, buckets: usage.buckets, differences: usage.differences.length },
          slo: {
            buckets: slo.buckets,
            compared: slo.slos.map((s) => ({ ...s, appliedAt: iso(s.appliedAt), fineFrom: iso(s.fineFrom), from: iso(s.from), limitedBy: s.limitedBy ?? null })),
            skipped: slo.skipped,
            notCompared: 'breakdown series and time-slice verdicts; retired generations',
            differenceCount: slo.differenceCount,
            differences: slo.differences.map((d) => ({ ...d, bucket: iso(d.bucket) })),
          },
        };
      },
    }),
  ];
}
