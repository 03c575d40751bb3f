/**
 * What the capacity routes answer, as zod schemas: the OpenAPI description documents them and the
 * CLI can infer its types from them. test/capacity/response-schemas.test.ts parses real answers
 * with them (strict: a field a view adds or drops without its schema fails there).
 */
import { z } from 'zod';

const time = z.string().describe('RFC 3339');

export const limitLineSchema = z
  .object({
    id: z.string(),
    tenant: z.string().nullable().describe("null: one of Keel's own, system-wide limits"),
    kind: z.enum([
      'rate_quota',
      'daily_quota',
      'log_disk',
      'log_max_bytes',
      'log_retention',
      'data_disk',
      'consumer_lag',
      'node_ingest',
      'stream_bytes',
      'stream_messages',
      'postgres_size',
      'postgres_connections',
      'user',
    ]),
    title: z.string(),
    unit: z.string(),
    usage: z.number(),
    capacity: z.number().nullable(),
    utilisation: z.number().nullable().describe('usage / capacity'),
    peak: z.object({ h1: z.number().nullable(), d1: z.number().nullable(), d7: z.number().nullable() }).strict(),
    trendPerDay: z.number().nullable().describe("Change per day of the forecast's trend, in the limit's unit"),
    model: z.enum(['linear', 'seasonal']).nullable(),
    backtestError: z.number().nullable(),
    stepAt: time.nullable(),
    exhaustion: z
      .object({
        status: z.enum(['exhausted', 'forecast', 'not_before', 'unknown']),
        at: time.nullable(),
        earliest: time.nullable(),
        latest: time.nullable(),
        notBefore: time.nullable(),
        secondsToExhaustion: z.number().nullable(),
        reason: z.string().optional(),
      })
      .strict(),
    samples: z.number().int(),
    action: z.string(),
  })
  .strict();

export const capacityReportAnswer = z.object({ at: time, horizon: time, limits: z.array(limitLineSchema) }).strict();

export const limitAnswer = limitLineSchema.extend({ history: z.array(z.tuple([time, z.number()])).describe('[time, usage]: raw samples, then hourly peaks') }).strict();

const figure = z.object({ value: z.number(), source: z.string() }).strict();
export const figuresSchema = z.object({ embeddedPerNode: figure, distributedPerNode: figure, perPartition: figure }).strict();

const modePlan = {
  nodes: z.number().int(),
  partitions: z.number().int().optional(),
  diskBytesPerEvent: z.number().describe("Bytes an event takes on this mode's log disk: compacted segments (embedded), NDJSON (the stream)"),
  diskBytes: z.number(),
  streamBytes: z.number().optional(),
  costPerMonth: z.number().nullable(),
  costPerBillionEvents: z.number().nullable(),
  notes: z.array(z.string()),
};

export const planAnswer = z
  .object({
    measuredPeakLoad: z.number(),
    bytesPerEventMeasured: z.boolean(),
    compactedFractionMeasured: z.boolean().describe("Whether the embedded disk figure uses the fraction measured on this log's compacted segments (else the bench's 36 of 261)"),
    retention: z.number().describe('ms'),
    load: z.number(),
    bytesPerEvent: z.number(),
    figures: figuresSchema,
    embedded: z.object(modePlan).strict(),
    distributed: z.object({ ...modePlan, ingestNodes: z.number().int(), workerNodes: z.number().int(), natsNodes: z.number().int() }).strict(),
  })
  .strict();

export const dailyQuotaAnswer = z
  .object({
    tenant: z.string(),
    eventsPerDay: z.number().int().nullable(),
    day: z.string().describe('YYYY-MM-DD (UTC)'),
    usedToday: z.number().int(),
    remaining: z.number().int().nullable(),
    utilisation: z.number().nullable(),
    resetsAt: time,
  })
  .strict();

const benchResult = z
  .object({
    mode: z.enum(['embedded', 'distributed']),
    recordedAt: time,
    eventsPerSecond: z.number(),
    ceilingEventsPerSecond: z.number(),
    cores: z.number().int(),
    loadAverage: z.number(),
    partitions: z.number().int().nullable(),
    workerCpuMsPer1000: z.number().nullable(),
    recordedBy: z.string(),
  })
  .strict();

export const benchResultsAnswer = z.object({ embedded: benchResult.nullable(), distributed: benchResult.nullable(), figures: figuresSchema }).strict();
