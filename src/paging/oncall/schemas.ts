/**
 * What the on-call routes answer, as zod schemas: the OpenAPI description documents them and the
 * CLI infers its types from them. test/paging/oncall/response-schemas.test.ts parses real answers.
 */
import { z } from 'zod';

const time = z.string().describe('RFC 3339');

export const personSchema = z.object({ handle: z.string().nullable().describe('User definition name'), user_id: z.string().nullable(), email: z.string(), name: z.string() }).strict();

export const shiftSchema = z.object({ user: personSchema, start: time, end: time, source: z.string().describe('Layer name or `override`'), schedule: z.string() }).strict();

export const oncallNowSchema = z
  .object({
    oncall: z.array(
      z
        .object({
          schedule: z.string(),
          at: time,
          on_call: personSchema.nullable(),
          source: z.string().nullable(),
          until: time.nullable(),
          next: z.object({ user: personSchema, start: time }).strict().nullable(),
        })
        .strict(),
    ),
  })
  .strict();

export const scheduleShiftsSchema = z
  .object({ schedule: z.string(), time_zone: z.string(), at: time, until: time, shifts: z.array(shiftSchema), gaps: z.array(z.object({ start: time, end: time }).strict()) })
  .strict();

export const personShiftsSchema = z.object({ user: personSchema, at: time, until: time, shifts: z.array(shiftSchema) }).strict();

export const overrideSchema = z.object({ id: z.string(), schedule: z.string(), user: personSchema, start: time, end: time, created_at: time, created_by: z.string() }).strict();

export const overrideListSchema = z
  .object({
    overrides: z.array(
      z
        .object({
          id: z.string(),
          user: z.union([personSchema, z.object({ user_id: z.string() }).strict()]).describe('The person, or only the user id of one no longer in the tenant'),
          start: time,
          end: time,
          created_at: time,
          created_by: z.string(),
        })
        .strict(),
    ),
  })
  .strict();

export const removedOverrideSchema = z.object({ id: z.string(), user_id: z.string(), start: time, end: time }).strict();

export const newFeedSchema = z.object({ id: z.string(), kind: z.enum(['schedule', 'user']), target: z.string(), token: z.string().describe('Shown once'), url: z.string() }).strict();

export const feedListSchema = z.object({ feeds: z.array(z.object({ id: z.string(), kind: z.string(), target: z.string(), created_at: time, created_by: z.string() }).strict()) }).strict();

export const revokedFeedSchema = z.object({ revoked: z.string() }).strict();

export type PersonAnswer = z.infer<typeof personSchema>;
export type OncallNowAnswer = z.infer<typeof oncallNowSchema>;
export type ScheduleShiftsAnswer = z.infer<typeof scheduleShiftsSchema>;
export type PersonShiftsAnswer = z.infer<typeof personShiftsSchema>;
export type OverrideAnswer = z.infer<typeof overrideSchema>;
export type OverrideListAnswer = z.infer<typeof overrideListSchema>;
