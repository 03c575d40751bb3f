/**
 * What the notify routes answer, as zod schemas: the OpenAPI description documents them, the CLI
 * infers its types from them, and every test runs with `server.checkResponses`, so an answer that
 * drifts from its schema is a 500. Shapes follow `settings-routes.ts` (secrets, `smtp-settings.ts`
 * view), `notify-queries.ts` (people), `link-routes.ts` and `delivery-routes.ts`.
 */
import { z } from 'zod';
import { incidentSchema } from '../incidents/schemas.js';
import { personSchema } from '../oncall/schemas.js';
import { contactMethodSchema } from './targets.js';

const time = z.string().describe('RFC 3339');

export const secretInfoSchema = z.object({ name: z.string(), created_at: time, updated_at: time, updated_by: z.string() }).strict();

export const secretListSchema = z.object({ secrets: z.array(secretInfoSchema).describe('Names only: values are never shown') }).strict();

export const storedSecretSchema = z.object({ name: z.string(), created: z.boolean().describe('No secret of that name existed'), updated_at: time }).strict();

/**
 * The settings as set (`smtpSettingsBody` after its defaults), without the password: only whether
 * one is stored. Written out rather than derived from the body, whose defaults would fill in a
 * field the answer lacks instead of refusing it.
 */
export const smtpViewSchema = z
  .object({
    host: z.string(),
    port: z.number().int(),
    secure: z.boolean().describe('TLS from the first byte (port 465); otherwise STARTTLS when the server offers it'),
    user: z.string().optional(),
    from: z.string(),
    requireTls: z.boolean().describe('Refuses to send without TLS'),
    password_set: z.boolean().describe('A password is stored (sealed; never shown)'),
  })
  .strict();

export const peopleSchema = z
  .object({
    people: z.array(
      personSchema
        .extend({
          time_zone: z.string().describe('IANA time zone'),
          contact_methods: z.array(contactMethodSchema),
          notification_rules: z.array(z.object({ after_ms: z.number().int(), contact_method: z.string() }).strict()).describe('When paged, each contact method is used after this long'),
        })
        .strict(),
    ),
  })
  .strict();

export const incidentLinkSchema = z
  .object({
    action: z.enum(['ack', 'resolve']),
    incident: incidentSchema.pick({ id: true, number: true, title: true, state: true }).strict(),
    expires_at: time,
  })
  .strict();

export const usedIncidentLinkSchema = z
  .object({
    incident: incidentSchema.pick({ id: true, number: true, state: true }).strict(),
    by: z.string().describe('`user:<email>` of the person the notification went to, or `link:channel`'),
  })
  .strict();

export const deliveriesSchema = z
  .object({
    notifications: z.array(
      z
        .object({
          delivery_id: z.string().describe('Sent as X-Keel-Delivery'),
          user_id: z.string().nullable().describe('Null for a channel'),
          target: z.string().describe('Contact method or channel name'),
          channel: z.enum(['email', 'slack', 'webhook']),
          status: z.enum(['pending', 'sent', 'failed', 'canceled']),
          attempts: z.number().int(),
          escalation: z.object({ pass: z.number().int(), step: z.number().int() }).strict().nullable().describe('The escalation step that paged; null for other notifications'),
          created_at: time,
          next_attempt_at: time.nullable().describe('Set while pending'),
          sent_at: time.nullable(),
          last_status: z.number().int().nullable().describe('HTTP status (or SMTP reply code) of the last attempt'),
          last_error: z.string().nullable(),
          latency_ms: z.number().nullable(),
          attempt_log: z.array(
            z.object({ attempt: z.number().int(), at: time, ok: z.boolean(), status_code: z.number().int().nullable(), error: z.string().nullable(), latency_ms: z.number() }).strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict();

export type SecretListAnswer = z.infer<typeof secretListSchema>;
export type StoredSecretAnswer = z.infer<typeof storedSecretSchema>;
export type SmtpViewAnswer = z.infer<typeof smtpViewSchema>;
export type PeopleAnswer = z.infer<typeof peopleSchema>;
export type DeliveriesAnswer = z.infer<typeof deliveriesSchema>;
