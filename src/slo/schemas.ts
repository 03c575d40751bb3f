/**
 * What the SLO routes answer, as zod schemas: the OpenAPI description documents them, and every
 * test runs with `server.checkResponses`, so an answer that drifts from its schema is a 500.
 * Shapes follow `status.ts` (SloStatusService) and `backfill.ts` (backfillProgress).
 */
import { z } from 'zod';

const time = z.string().describe('RFC 3339');
/** Rounded figures are null when there is nothing to measure yet (no events). */
const figure = z.number().nullable();
const duration = z.string().describe('e.g. 5m, 1h, 30d');

export const backfillProgressSchema = z
  .object({
    state: z.enum(['pending', 'running', 'done']),
    percent: z.number().min(0).max(100),
    events: z.number().int().describe('Events the backfill has counted so far'),
    startedAt: time.nullable(),
    finishedAt: time.nullable(),
    partitions: z.array(z.object({ partition: z.number().int(), liveFrom: z.number().int(), cursor: z.number().int(), done: z.boolean() }).strict()),
  })
  .strict();

const sloAlertSchema = z
  .object({
    objective: z.number().int(),
    policy: z.string(),
    severity: z.string(),
    status: z.string().describe('`firing` or `resolved`'),
    since: time,
    dedupKey: z.string().describe('The alert pipeline’s dedup key of this condition'),
    values: z.unknown().describe('Burn rates and windows at the last transition'),
  })
  .strict();

export const sloListSchema = z
  .object({
    slos: z.array(
      z
        .object({
          name: z.string(),
          displayName: z.string().optional(),
          service: z.string(),
          budgetingMethod: z.string(),
          window: duration,
          objectives: z.array(
            z
              .object({
                name: z.string(),
                target: z.number(),
                sli: figure,
                budgetRemainingPercent: figure,
                events: z.object({ good: z.number(), total: z.number() }).strict(),
                burnRates: z.array(z.object({ window: duration, burnRate: figure }).strict()).describe('Burn rate over each alert window'),
              })
              .strict(),
          ),
          firing: z.array(z.string()).describe('Severities of the SLO’s firing burn-rate alerts'),
          backfill: backfillProgressSchema,
        })
        .strict(),
    ),
  })
  .strict();

const indicatorSchema = z.union([
  z.object({ kind: z.literal('ratio'), name: z.string(), total: z.string(), good: z.string().optional(), bad: z.string().optional() }).strict(),
  z.object({ kind: z.literal('threshold'), name: z.string(), value: z.string(), filter: z.string().optional() }).strict(),
]);

const objectiveStatusSchema = z
  .object({
    index: z.number().int(),
    name: z.string(),
    target: z.number(),
    targetPercent: figure,
    op: z.string().optional(),
    value: z.number().optional(),
    timeSliceWindow: duration.optional(),
    timeSliceTarget: z.number().optional(),
    sli: figure,
    events: z.object({ good: z.number(), bad: z.number(), total: z.number() }).strict(),
    slices: z.object({ good: figure, bad: figure, total: z.number() }).strict().optional().describe('Timeslices budgeting only'),
    errorBudget: z.object({ unit: z.enum(['events', 'slices']), total: figure, consumed: figure, remaining: figure, remainingPercent: figure, consumedPercent: figure }).strict(),
    burnRates: z.array(z.object({ window: duration, seconds: z.number(), burnRate: figure, badEvents: z.number(), totalEvents: z.number() }).strict()),
    forecast: z.object({ window: duration, burnRate: figure, exhausted: z.boolean(), exhaustsAt: time.nullable(), exhaustsInSeconds: z.number().nullable() }).strict(),
    topBreakdown: z
      .array(z.object({ values: z.record(z.string(), z.string()), badEvents: z.number(), totalEvents: z.number(), badRatio: figure, lift: figure }).strict())
      .optional()
      .describe('SLOs with a breakdown: the values that explain the bad events, ranked'),
    breakdownBaseline: z.object({ badRatio: figure, minTotalEvents: z.number() }).strict().optional(),
    breakdownOther: z.object({ badEvents: z.number(), totalEvents: z.number(), badShare: figure }).strict().optional(),
  })
  .strict();

export const sloStatusSchema = z
  .object({
    name: z.string(),
    displayName: z.string().optional(),
    description: z.string().optional(),
    service: z.string(),
    generation: z.string(),
    budgetingMethod: z.string(),
    indicator: indicatorSchema,
    breakdown: z.array(z.string()),
    window: z
      .object({
        duration,
        rolling: z.boolean(),
        calendar: z.object({ startTime: z.string(), timeZone: z.string() }).strict().optional(),
        start: time,
        end: time,
        lengthSeconds: z.number(),
        periodEnd: time.optional(),
        coverage: z.object({ from: time, percent: figure, complete: z.boolean() }).strict(),
      })
      .strict(),
    objectives: z.array(objectiveStatusSchema),
    alerts: z.array(sloAlertSchema),
    policies: z.array(
      z
        .object({
          name: z.string(),
          builtin: z.boolean(),
          conditions: z.array(z.object({ name: z.string(), severity: z.string(), op: z.string(), threshold: z.number(), longWindow: duration, shortWindow: duration, alertAfter: duration }).strict()),
          notificationTargets: z.array(z.object({ name: z.string(), target: z.string(), description: z.string().optional() }).strict()),
        })
        .strict(),
    ),
    backfill: backfillProgressSchema,
    warnings: z.array(z.string()),
    evaluatedAt: time,
  })
  .strict();

export const sloSeriesSchema = z
  .object({
    name: z.string(),
    from: time,
    to: time,
    step: duration,
    stepSeconds: z.number(),
    objectives: z.array(
      z
        .object({
          index: z.number().int(),
          name: z.string(),
          target: z.number(),
          points: z.array(
            z
              .object({
                t: time,
                sli: figure,
                budgetRemaining: figure,
                events: z.object({ good: z.number(), total: z.number() }).strict(),
                burnRates: z.record(z.string(), figure).describe('Burn rate per alert window'),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict();

export const sloBucketsSchema = z
  .object({
    name: z.string(),
    objective: z.number().int(),
    resolutionSeconds: z.number().int(),
    buckets: z.array(z.object({ start: time, good: z.number(), total: z.number(), breakdown: z.record(z.string(), z.string()).optional() }).strict()),
  })
  .strict();

export const sloAlertsSchema = z
  .object({
    name: z.string(),
    alerts: z.array(sloAlertSchema),
    transitions: z.array(
      z
        .object({
          alert: z.string().describe('the alert key inside the SLO: objective/policy/severity'),
          objective: z.number().int(),
          policy: z.string(),
          severity: z.string().describe('the severity, or nodata for the policy’s no-data alert'),
          dedupKey: z.string().describe('the alert’s dedup key in the alert pipeline (GET /v1/paging/alerts)'),
          status: z.string(),
          at: time,
          values: z.unknown(),
        })
        .strict(),
    ),
  })
  .strict();

export const sloBackfillsSchema = z.object({ backfills: z.array(backfillProgressSchema.extend({ slo: z.string(), generation: z.string() }).strict()) }).strict();
