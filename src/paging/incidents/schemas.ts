/**
 * What the incident routes answer, as zod schemas: the OpenAPI description documents them and
 * the CLI infers its types from them (`z.infer`), so neither copies the views by hand.
 * test/paging/incidents/response-schemas.test.ts parses real answers with them (strict: a field a view
 * adds or drops without its schema fails there).
 */
import { z } from 'zod';

const time = z.string().describe('RFC 3339');
const person = z.object({ user_id: z.string(), email: z.string().optional(), name: z.string().optional(), handle: z.string().nullable().optional() }).strict();

export const incidentSchema = z
  .object({
    id: z.string(),
    number: z.number().int(),
    title: z.string(),
    summary: z.string(),
    service: z.string().nullable(),
    severity: z.string(),
    state: z.enum(['triggered', 'acknowledged', 'mitigated', 'resolved', 'closed']),
    escalation_policy: z.string().nullable(),
    grouping_key: z.string().nullable(),
    opened_at: time,
    acknowledged_at: time.nullable(),
    mitigated_at: time.nullable(),
    resolved_at: time.nullable(),
    closed_at: time.nullable(),
    created_by: z.string(),
    paged_nobody: z.object({ reason: z.string(), since: time }).strict().nullable().describe('Set when the incident paged nobody'),
  })
  .strict();

export const actionItemSchema = z
  .object({
    id: z.string(),
    incident_id: z.string(),
    title: z.string(),
    status: z.enum(['open', 'in_progress', 'done', 'wont_do']),
    owner: z.object({ user_id: z.string(), email: z.string().optional(), name: z.string().optional(), handle: z.string().nullable().optional() }).strict().nullable(),
    created_at: time,
    updated_at: time,
    created_by: z.string(),
  })
  .strict();

export const rolesSchema = z.record(z.string(), person).describe('Role name → the person holding it');

export const incidentDetailSchema = incidentSchema
  .extend({
    roles: rolesSchema,
    alerts: z.array(
      z
        .object({
          id: z.string(),
          summary: z.string(),
          severity: z.string(),
          source: z.string(),
          status: z.string(),
          count: z.number().int(),
          dedup_key: z.string(),
          first_seen: time,
          last_seen: time,
        })
        .strict(),
    ),
    escalation: z
      .object({
        policy: z.string(),
        status: z.string(),
        pass: z.number().int(),
        step: z.number().int(),
        next: z.object({ pass: z.number().int(), step: z.number().int(), at: time }).strict().nullable(),
      })
      .strict()
      .nullable(),
    action_items: z.array(actionItemSchema),
  })
  .strict();

export const incidentListSchema = z.object({ incidents: z.array(incidentSchema), next_cursor: z.string().nullable() }).strict();

export const timelineEntrySchema = z.object({ seq: z.number().int(), at: time, actor: z.string(), type: z.string(), message: z.string(), data: z.record(z.string(), z.unknown()) }).strict();

export const timelineSchema = z.object({ incident: incidentSchema, timeline: z.array(timelineEntrySchema) }).strict();

export const actionItemListSchema = z.object({ action_items: z.array(actionItemSchema) }).strict();

export const postmortemSchema = z
  .object({
    incident: z.string(),
    markdown: z.string(),
    created_at: time,
    updated_at: time,
    author: z.string(),
    edited: z.object({ at: time, by: z.string() }).strict().nullable(),
  })
  .strict();

const summary = {
  incidents: z.number().int(),
  acknowledged: z.number().int(),
  resolved: z.number().int(),
  mtta_seconds: z.number().nullable(),
  mttr_seconds: z.number().nullable(),
  by_severity: z.record(z.string(), z.number().int()),
};

export const incidentMetricsSchema = z
  .object({
    from: time,
    to: time,
    overall: z.object(summary).strict(),
    services: z.array(z.object({ service: z.string(), ...summary }).strict()),
    on_call_load: z.array(z.object({ user: z.string(), pages: z.number().int(), pages_per_week: z.number(), weeks: z.record(z.string(), z.number().int()) }).strict()),
  })
  .strict();

export type IncidentAnswer = z.infer<typeof incidentSchema>;
export type IncidentDetailAnswer = z.infer<typeof incidentDetailSchema>;
export type TimelineEntryAnswer = z.infer<typeof timelineEntrySchema>;
export type ActionItemAnswer = z.infer<typeof actionItemSchema>;
export type IncidentMetricsAnswer = z.infer<typeof incidentMetricsSchema>;

export const sloImpactSchema = z
  .object({
    incident: z.string(),
    impact: z.array(z.object({ slo: z.string(), budget_consumed: z.number(), bad_events: z.number(), from: time, from_reason: z.string().nullable() }).strict()).nullable(),
    error: z.string().nullable(),
  })
  .strict();
