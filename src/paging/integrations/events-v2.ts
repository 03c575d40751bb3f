/**
 * PagerDuty Events API v2 (`POST /v2/enqueue` bodies) into alert signals, with PagerDuty's
 * answers: `202 {status: "success", message: "Event processed", dedup_key}`, and for bad events
 * `400 {status: "invalid event", message: "Event object is invalid", errors: [...]}` where each
 * error names the field. Dedup is per (routing key, dedup key); a trigger without a dedup key
 * gets a new one (as PagerDuty does). Pure: no I/O.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AlertLink, AlertSignal } from '../../alerting/alert-service.js';
import { formatPath } from '../../core/config.js';
import { parseLimitedJson } from '../../core/json-limits.js';
import { parseRfc3339 } from '../../core/time.js';
import { INTEGRATION_MAX_DEPTH } from './limits.js';

export const EVENTS_V2_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;

const eventSchema = z
  .object({
    routing_key: z.string().length(32, 'must be 32 characters (the integration key)'),
    event_action: z.enum(['trigger', 'acknowledge', 'resolve'], { error: (i) => (i.input === undefined ? 'is required' : 'must be one of trigger, acknowledge, resolve') }),
    dedup_key: z.string().min(1).max(255).optional(),
    payload: z
      .object({
        summary: z.string().min(1).max(1024),
        source: z.string().min(1).max(255),
        severity: z.enum(EVENTS_V2_SEVERITIES, { error: (i) => (i.input === undefined ? 'is required' : 'must be one of critical, error, warning, info') }),
        timestamp: z
          .string()
          .refine((v) => Number.isFinite(parseRfc3339(v)), 'must be an ISO 8601 / RFC 3339 time')
          .optional(),
        component: z.string().max(255).optional(),
        group: z.string().max(255).optional(),
        class: z.string().max(255).optional(),
        custom_details: z.unknown().optional(),
      })
      .strict()
      .optional(),
    images: z
      .array(z.object({ src: z.string().min(1).max(2000), href: z.string().max(2000).optional(), alt: z.string().max(1000).optional() }).strict())
      .max(50)
      .optional(),
    links: z
      .array(z.object({ href: z.string().min(1).max(2000), text: z.string().max(1000).optional() }).strict())
      .max(50)
      .optional(),
    client: z.string().max(255).optional(),
    client_url: z.string().max(2000).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.event_action === 'trigger' && !e.payload) ctx.addIssue({ code: 'custom', path: ['payload'], message: 'is required for trigger events' });
    if (e.event_action !== 'trigger' && !e.dedup_key) ctx.addIssue({ code: 'custom', path: ['dedup_key'], message: `is required for ${e.event_action} events` });
  });

export type EventsV2Event = z.output<typeof eventSchema>;

export interface InvalidEvent {
  status: 'invalid event';
  message: string;
  errors: string[];
}

export type ParsedEvent = { ok: true; event: EventsV2Event } | { ok: false; error: InvalidEvent };

export function invalidEvent(errors: string[], message = 'Event object is invalid'): InvalidEvent {
  return { status: 'invalid event', message, errors };
}

export function parseEventsV2(body: Buffer): ParsedEvent {
  if (body.length === 0) return { ok: false, error: invalidEvent(['body is empty; send one JSON event']) };
  const parsed = parseLimitedJson(body, INTEGRATION_MAX_DEPTH);
  if (!parsed.ok) return { ok: false, error: invalidEvent([parsed.problem.path ? `${parsed.problem.path}: ${parsed.problem.message}` : parsed.problem.message]) };
  const json = parsed.value;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, error: invalidEvent(['body must be a JSON object (one event)']) };
  const r = eventSchema.safeParse(json);
  if (r.success) return { ok: true, event: r.data };
  return {
    ok: false,
    error: invalidEvent(
      r.error.issues.map((i) => {
        const path = formatPath(i.path) || '(event)';
        if (i.code === 'unrecognized_keys') return `${path === '(event)' ? '' : `${path}: `}unknown field(s): ${i.keys.join(', ')}`;
        if (i.code === 'invalid_type' && i.message.includes('undefined')) return `${path}: is required`;
        return `${path}: ${i.message}`;
      }),
    ),
  };
}

export function newDedupKey(): string {
  return randomBytes(16).toString('hex');
}

/** The alert dedup key of an Events v2 dedup key: scoped to the integration (routing key). */
export function alertDedupKey(integrationId: string, dedupKey: string): string {
  return `events-v2/${integrationId}/${dedupKey}`;
}

/** The signal of a trigger or resolve event (acknowledge is not a signal; see AlertService.acknowledge). */
export function eventsV2Signal(e: EventsV2Event, dedupKey: string, integration: { id: string; tenant: string; service: string | null }): AlertSignal {
  const p = e.payload;
  const links: AlertLink[] = (e.links ?? []).map((l) => ({ href: l.href, ...(l.text ? { text: l.text } : {}) }));
  if (e.client_url) links.push({ href: e.client_url, text: e.client ?? 'Client' });
  const labels: Record<string, string> = {};
  if (p) {
    labels.source = p.source;
    labels.severity = p.severity;
    if (p.component) labels.component = p.component;
    if (p.group) labels.group = p.group;
    if (p.class) labels.class = p.class;
  }
  return {
    tenant: integration.tenant,
    dedupKey: alertDedupKey(integration.id, dedupKey),
    source: 'events-v2',
    status: e.event_action === 'resolve' ? 'resolved' : 'firing',
    severity: p?.severity ?? 'info',
    summary: p?.summary ?? `Events v2 ${dedupKey}`,
    labels,
    details: {
      dedup_key: dedupKey,
      ...(p?.custom_details !== undefined ? { custom_details: p.custom_details } : {}),
      ...(p?.timestamp ? { timestamp: p.timestamp } : {}),
      ...(e.images ? { images: e.images } : {}),
      ...(e.client ? { client: e.client } : {}),
    },
    links,
    ...(integration.service ? { service: integration.service } : {}),
    values: { event_action: e.event_action, dedup_key: dedupKey },
  };
}
