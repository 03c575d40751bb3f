/**
 * POST/GET /v1/capacity/bench-results: `keel bench ingest --record` stores what it measured on the
 * user's machine; the node-ingest limit and `keel capacity plan` then use it (ingest-figures.ts).
 */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import type { Clock } from '../core/clock.js';
import type { BenchResult, BenchResultService } from './bench-results.js';
import type { IngestFigures } from './ingest-figures.js';
import { benchResultsAnswer } from './schemas.js';

const recordBody = z
  .object({
    mode: z.enum(['embedded', 'distributed']).describe('The mode the bench ran in.'),
    eventsPerSecond: z.number().positive('must be above 0').max(1e9, 'must be at most 1e9').describe('Durable events/s measured for one node.'),
    ceilingEventsPerSecond: z.number().positive('must be above 0').max(1e10, 'must be at most 1e10').describe('The ceiling measured in the same run.'),
    cores: z.number().int('must be a whole number').min(1, 'must be at least 1').max(4096, 'must be at most 4096'),
    loadAverage: z.number().min(0, 'must be at least 0').max(10_000, 'must be at most 10000').describe('1-minute load average when the bench started.'),
    partitions: z.number().int('must be a whole number').min(1).max(10_000).optional().describe("Distributed: the log's partitions."),
    workerCpuMsPer1000: z.number().positive('must be above 0').max(1000, 'must be at most 1000').optional().describe("Distributed: the worker's CPU ms per 1,000 events."),
  })
  .strict();

function resultView(r: BenchResult) {
  return {
    mode: r.mode,
    recordedAt: new Date(r.recordedAt).toISOString(),
    eventsPerSecond: r.eventsPerSecond,
    ceilingEventsPerSecond: r.ceilingEventsPerSecond,
    cores: r.cores,
    loadAverage: r.loadAverage,
    partitions: r.partitions,
    workerCpuMsPer1000: r.workerCpuMsPer1000,
    recordedBy: r.recordedBy,
  };
}

export function benchResultRoutes(deps: { results: BenchResultService; figures: () => Promise<IngestFigures>; clock: Clock }): AnyRoute[] {
  const answer = async () => {
    const latest = await deps.results.latest();
    return {
      embedded: latest.embedded ? resultView(latest.embedded) : null,
      distributed: latest.distributed ? resultView(latest.distributed) : null,
      figures: await deps.figures(),
    };
  };
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/capacity/bench-results',
      summary: "Record an ingest benchmark measured on this deployment's machines",
      description:
        'What `keel bench ingest --record` sends. The latest result of each mode becomes the capacity of the `node.ingest` limit and the per-node (and, distributed, per-partition) figure of `keel capacity plan`, instead of the configured or BENCHMARKS.md figure.',
      tags: ['capacity'],
      permission: 'system:manage',
      audit: 'capacity.bench_result.record',
      body: recordBody,
      responses: [
        { status: 201, description: 'Recorded; the figures now in use', schema: benchResultsAnswer },
        { status: 400, description: 'Invalid figures (the field is named)' },
      ],
      handler: async ({ body, principal, audit }) => {
        const r: BenchResult = {
          mode: body.mode,
          recordedAt: deps.clock.now(),
          eventsPerSecond: body.eventsPerSecond,
          ceilingEventsPerSecond: body.ceilingEventsPerSecond,
          cores: body.cores,
          loadAverage: body.loadAverage,
          partitions: body.partitions ?? null,
          workerCpuMsPer1000: body.workerCpuMsPer1000 ?? null,
          recordedBy: principal.actor,
        };
        await deps.results.record(r);
        audit({ target: `capacity/bench-results/${r.mode}`, after: resultView(r) });
        return answer();
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/capacity/bench-results',
      summary: 'The latest recorded ingest benchmark of each mode, and the figures in use',
      tags: ['capacity'],
      permission: 'system:read',
      responses: [{ status: 200, description: 'Latest results and the figures the limit and plan use, with their sources', schema: benchResultsAnswer }],
      handler: async () => answer(),
    }),
  ];
}
