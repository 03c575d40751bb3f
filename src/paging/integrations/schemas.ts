/**
 * What the integration routes answer, as zod schemas: the OpenAPI description documents them, the
 * CLI infers its types from them, and every test runs with `server.checkResponses`, so an answer
 * that drifts from its schema is a 500. Shapes follow `routes.ts` (keyView) and `heartbeats.ts`
 * (heartbeatView).
 */
import { z } from 'zod';
import { INTEGRATION_TYPES } from './keys.js';

const time = z.string().describe('RFC 3339');

export const heartbeatSchema = z
  .object({
    name: z.string(),
    service: z.string(),
    status: z.enum(['up', 'down']).describe('`down` once a deadline passed without a ping (an alert is open until the next one)'),
    interval_ms: z.number().int(),
    grace_ms: z.number().int(),
    last_ping_at: time.nullable().describe('Null until the first ping'),
    due_at: time.describe('The next ping is due by then (interval + grace after the last one)'),
  })
  .strict();

export const heartbeatListSchema = z.object({ heartbeats: z.array(heartbeatSchema) }).strict();

export const integrationKeySchema = z
  .object({
    id: z.string(),
    type: z.enum(INTEGRATION_TYPES),
    service: z.string().nullable().describe('Alerts sent with the key belong to this service; null: the tenant’s Routes place them'),
    name: z.string(),
    prefix: z.string().describe('The first characters of the key, to recognise it by (the key itself is shown once, at creation)'),
    created_at: time,
    created_by: z.string(),
    last_used_at: time.nullable(),
    revoked_at: time.nullable(),
  })
  .strict();

export const createdIntegrationSchema = integrationKeySchema
  .extend({
    key: z.string().describe('The key: shown in this answer only, Keel keeps its hash'),
    endpoint: z.string().describe('Where to send with it'),
  })
  .strict();

export const integrationListSchema = z.object({ integrations: z.array(integrationKeySchema) }).strict();

export type HeartbeatAnswer = z.infer<typeof heartbeatSchema>;
export type IntegrationKeyAnswer = z.infer<typeof integrationKeySchema>;
export type CreatedIntegrationAnswer = z.infer<typeof createdIntegrationSchema>;
export type HeartbeatListAnswer = z.infer<typeof heartbeatListSchema>;
export type IntegrationListAnswer = z.infer<typeof integrationListSchema>;
