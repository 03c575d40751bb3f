/**
 * HTTP routes of integrations: the Alertmanager webhook, PagerDuty Events v2, heartbeat pings
 * (public routes that check the integration key themselves), and managing integration keys.
 */
import { z } from 'zod';
import type { AlertService } from '../../alerting/alert-service.js';
import { SENT, defineRoute, type AnyRoute } from '../../api/route.js';
import { bearerOf } from '../oncall/bearer.js';
import { formatZodIssues } from '../../core/config.js';
import { KeelError, isKeelError } from '../../core/errors.js';
import { parseLimitedJson } from '../../core/json-limits.js';
import type { Logger } from '../../telemetry/logger.js';
import { alertmanagerPayload, alertmanagerSignals } from './alertmanager.js';
import { alertDedupKey, eventsV2Signal, invalidEvent, newDedupKey, parseEventsV2 } from './events-v2.js';
import type { HeartbeatService } from './heartbeats.js';
import type { IntegrationIntake } from './intake.js';
import { ALERTMANAGER_MAX_BYTES, EVENTS_V2_MAX_BYTES, HEARTBEAT_MAX_BYTES, INTEGRATION_MAX_DEPTH } from './limits.js';
import { INTEGRATION_TYPES, type IntegrationKey, type IntegrationKeys } from './keys.js';
import { createdIntegrationSchema, heartbeatListSchema, heartbeatSchema, integrationKeySchema, integrationListSchema } from './schemas.js';

export interface IntegrationRouteDeps {
  intake: IntegrationIntake;
  logger: Logger;
  alerts: AlertService;
  keys: IntegrationKeys;
  heartbeats: HeartbeatService;
  publicUrl(): string;
}

function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

function keyView(k: IntegrationKey) {
  return {
    id: k.id,
    type: k.type,
    service: k.service,
    name: k.name,
    prefix: k.prefix,
    created_at: iso(k.createdAt),
    created_by: k.createdBy,
    last_used_at: iso(k.lastUsedAt),
    revoked_at: iso(k.revokedAt),
  };
}

/** Store faults are retryable: a 503 with Retry-After, never a 500 the sender would drop. */
async function retryable<T>(logger: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isKeelError(e)) throw e;
    logger.error({ err: e }, `${what} failed`);
    throw new KeelError('unavailable', `${what} could not be recorded right now; retry`, { retryAfterSeconds: 1 });
  }
}

function parseJson(body: unknown): unknown {
  const buf = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  if (buf.length === 0) throw new KeelError('empty_body', 'request body is empty; send the JSON payload');
  const parsed = parseLimitedJson(buf, INTEGRATION_MAX_DEPTH);
  if (parsed.ok) return parsed.value;
  const { path, message, offset } = parsed.problem;
  throw new KeelError('malformed_body', path ? `${path}: ${message}` : message, { details: [{ path, message, ...(offset !== undefined ? { offset } : {}) }] });
}

function bearer(request: { headers: import('node:http').IncomingHttpHeaders }): string {
  const key = bearerOf(request.headers);
  if (!key) throw new KeelError('unauthorized', 'missing integration key: send "Authorization: Bearer <integration key>"');
  return key;
}

export function integrationRoutes(deps: IntegrationRouteDeps): AnyRoute[] {
  const { intake, logger, alerts, keys, heartbeats } = deps;
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/integrations/alertmanager',
      summary: 'Prometheus Alertmanager webhook receiver (payload version 4)',
      description:
        'Public route that checks the integration key itself: configure Alertmanager with `http_config.authorization.credentials: <integration key>` (type alertmanager). Each alert’s fingerprint is its dedup key; resolved alerts resolve. Unknown keys 401, keys of another type 403, bad payloads 400 naming the field (also JSON nested deeper than 32 levels, bytes that are not UTF-8, numbers that are not finite), bodies over 4 MiB 413, 503 (retry) only when storage fails.',
      tags: ['integrations'],
      permission: 'public',
      authenticatesItself: 'an integration key of type alertmanager: Authorization: Bearer <key>',
      auditExempt: 'the alert data plane: every alert and transition is recorded by AlertService',
      rawBody: { contentTypes: ['application/json'], bodyLimit: ALERTMANAGER_MAX_BYTES },
      responses: [
        { status: 200, description: 'Recorded: how many alerts opened, updated, resolved' },
        { status: 400, description: 'Malformed payload; the message names the field' },
        { status: 401, description: 'Missing, unknown or revoked integration key' },
        { status: 403, description: 'The key is not an alertmanager key' },
        { status: 503, description: 'Storage unavailable; retry' },
      ],
      handler: async ({ request }) => {
        const integration = await retryable(logger, 'integration key lookup', () => keys.authenticate(bearer(request), 'alertmanager'));
        const parsed = alertmanagerPayload.safeParse(parseJson(request.body));
        if (!parsed.success) {
          const details = formatZodIssues(parsed.error);
          throw new KeelError('validation_failed', details.map((d) => `${d.path || '(body)'}: ${d.message}`).join('; '), { details });
        }
        const signals = alertmanagerSignals(parsed.data, integration);
        const results = await retryable(logger, 'the alerts', () => intake.signalAll(signals));
        for (const r of results) alerts.publish(r);
        const count = (st: string) => results.filter((r) => r.transition?.status === st).length;
        return { alerts: results.length, opened: count('firing'), resolved: count('resolved'), updated: results.filter((r) => !r.transition).length };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/integrations/events-v2',
      summary: 'PagerDuty Events API v2 (enqueue): trigger, acknowledge, resolve',
      description:
        'Public route that checks the integration key itself: `routing_key` in the body is an integration key (type events-v2). Answers like PagerDuty: `202 {status: "success", message: "Event processed", dedup_key}`; invalid events `400 {status: "invalid event", message, errors}` naming the fields (also JSON nested deeper than 32 levels, bytes that are not UTF-8, numbers that are not finite; bodies over 512 KiB 413); unknown or revoked keys 404, keys of another type 403; 503 (retry) only when storage fails. Dedup is per (routing key, dedup key); a trigger after a resolve opens a new alert.',
      tags: ['integrations'],
      permission: 'public',
      authenticatesItself: 'an integration key of type events-v2 as routing_key in the body',
      auditExempt: 'the alert data plane: every alert and transition is recorded by AlertService',
      rawBody: { contentTypes: ['application/json'], bodyLimit: EVENTS_V2_MAX_BYTES },
      responses: [
        { status: 202, description: '{status: "success", message: "Event processed", dedup_key}' },
        { status: 400, description: '{status: "invalid event", message, errors: [...]}' },
        { status: 403, description: 'The key is not an events-v2 key' },
        { status: 404, description: 'Unknown or revoked routing key' },
        { status: 503, description: 'Storage unavailable; retry' },
      ],
      handler: async ({ request, reply }) => {
        const send = (status: number, body: unknown) => {
          void reply.code(status).type('application/json').send(body);
          return SENT;
        };
        const parsed = parseEventsV2(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
        if (!parsed.ok) return send(400, parsed.error);
        const e = parsed.event;
        let integration: IntegrationKey;
        try {
          integration = await retryable(logger, 'integration key lookup', () => keys.authenticate(e.routing_key, 'events-v2', 'not_found'));
        } catch (err) {
          if (isKeelError(err) && err.status < 500) return send(err.status, invalidEvent([`routing_key: ${err.message}`], err.status === 404 ? 'Routing key not found' : 'Routing key not allowed'));
          throw err;
        }
        const dedupKey = e.dedup_key ?? newDedupKey();
        if (e.event_action === 'acknowledge') {
          await retryable(logger, 'the event', () => alerts.acknowledge(integration.tenant, alertDedupKey(integration.id, dedupKey)));
        } else {
          await retryable(logger, 'the event', () => alerts.signal(eventsV2Signal(e, dedupKey, integration)));
        }
        return send(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/heartbeats/:name',
      summary: 'Heartbeat ping (dead-man’s switch): "still alive"',
      description:
        'Public route that checks the integration key itself: `Authorization: Bearer <integration key>` of type heartbeat, of the heartbeat’s service (or of no service). Any body is ignored. A ping after a missed one resolves the alert.',
      tags: ['integrations'],
      permission: 'public',
      authenticatesItself: 'an integration key of type heartbeat: Authorization: Bearer <key>',
      auditExempt: 'a liveness ping: it only moves the heartbeat deadline (missed ones are alerts)',
      params: z.object({ name: z.string().min(1).max(200) }).strict(),
      rawBody: { contentTypes: ['*/*'], bodyLimit: HEARTBEAT_MAX_BYTES },
      responses: [
        { status: 200, description: 'The heartbeat with its next deadline', schema: heartbeatSchema },
        { status: 401, description: 'Missing, unknown or revoked integration key' },
        { status: 403, description: 'The key is not a heartbeat key' },
        { status: 404, description: 'No such heartbeat (for the key’s service)' },
      ],
      handler: async ({ params, request }) => {
        const integration = await retryable(logger, 'integration key lookup', () => keys.authenticate(bearer(request), 'heartbeat'));
        return retryable(logger, 'the ping', () => heartbeats.ping(integration.tenant, integration.service, params.name));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/heartbeats',
      summary: 'Heartbeats and their state (up/down, last ping, deadline)',
      tags: ['integrations'],
      permission: 'paging:read',
      responses: [{ status: 200, description: 'Heartbeats', schema: heartbeatListSchema }],
      handler: async ({ principal }) => ({ heartbeats: await heartbeats.list(principal.tenant) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/integrations',
      summary: 'Create an integration key (Alertmanager, Events v2 routing key, heartbeat); shown once',
      description: 'With `service`, alerts sent with the key belong to that service; without, the tenant’s Routes place them.',
      tags: ['integrations'],
      permission: 'integrations:manage',
      audit: 'integrations.create',
      body: z
        .object({
          type: z.enum(INTEGRATION_TYPES),
          service: z.string().min(1).max(200).optional(),
          name: z.string().min(1).max(200).optional(),
        })
        .strict(),
      responses: [{ status: 201, description: 'The key (shown once) and where to send', schema: createdIntegrationSchema }],
      handler: async ({ body, principal, audit }) => {
        if (body.service && !(await intake.serviceExists(principal.tenant, body.service))) {
          throw new KeelError('validation_failed', `service: no Service named "${body.service}"`, { details: [{ path: 'service', message: 'unknown service' }] });
        }
        const { key, info } = await keys.create({
          tenant: principal.tenant,
          service: body.service ?? null,
          type: body.type,
          name: body.name ?? `${body.type}${body.service ? `-${body.service}` : ''}`,
          createdBy: principal.actor,
        });
        const base = deps.publicUrl();
        const endpoint = body.type === 'alertmanager' ? `${base}/v1/integrations/alertmanager` : body.type === 'events-v2' ? `${base}/v1/integrations/events-v2` : `${base}/v1/heartbeats/<name>`;
        audit({ target: `integration/${info.id}`, after: keyView(info) });
        return { ...keyView(info), key, endpoint };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/integrations',
      summary: 'List integration keys (prefixes only)',
      tags: ['integrations'],
      permission: 'paging:read',
      query: z.object({ service: z.string().max(200).optional(), include_revoked: z.enum(['true', 'false']).optional() }).strict(),
      responses: [{ status: 200, description: 'Keys', schema: integrationListSchema }],
      handler: async ({ query, principal }) => ({
        integrations: (await keys.list(principal.tenant, { ...(query.service ? { service: query.service } : {}), includeRevoked: query.include_revoked === 'true' })).map(keyView),
      }),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/integrations/:id',
      summary: 'Revoke an integration key',
      tags: ['integrations'],
      permission: 'integrations:manage',
      audit: 'integrations.revoke',
      params: z.object({ id: z.string().min(1).max(100) }).strict(),
      responses: [{ status: 200, description: 'The revoked key', schema: integrationKeySchema }],
      handler: async ({ params, principal, audit }) => {
        const k = await keys.revoke(principal.tenant, params.id);
        audit({ target: `integration/${k.id}`, after: keyView(k) });
        return keyView(k);
      },
    }),
  ];
}
