/**
 * Prometheus Alertmanager's webhook (payload version 4) into alert signals. Each alert's
 * `fingerprint` is its dedup key (per integration key); `status: resolved` resolves it. The
 * alert's own `severity` label is its severity (missing: `critical`, so an unlabelled alert
 * pages rather than being missed). Pure: no I/O.
 */
import { z } from 'zod';
import type { AlertLink, AlertSignal } from '../../alerting/alert-service.js';
import { parseRfc3339 } from '../../core/time.js';

const labels = z.record(z.string(), z.string());
const time = z.string().refine((v) => Number.isFinite(parseRfc3339(v)), 'an RFC 3339 time');

const amAlert = z
  .object({
    status: z.enum(['firing', 'resolved']),
    labels: labels,
    annotations: labels.default({}),
    startsAt: time,
    /** Zero time (0001-01-01T00:00:00Z) while firing. */
    endsAt: time.optional(),
    generatorURL: z.string().max(4000).optional(),
    fingerprint: z.string().min(1).max(200),
  })
  .strict();

export const alertmanagerPayload = z
  .object({
    version: z.literal('4', { message: 'Keel accepts Alertmanager webhook payload version "4"' }),
    groupKey: z.string().max(10_000).optional(),
    truncatedAlerts: z.number().int().min(0).optional(),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string().max(1000).optional(),
    groupLabels: labels.optional(),
    commonLabels: labels.optional(),
    commonAnnotations: labels.optional(),
    externalURL: z.string().max(4000).optional(),
    alerts: z.array(amAlert).min(1).max(1000),
  })
  .strict();

export type AlertmanagerPayload = z.output<typeof alertmanagerPayload>;

export const DEFAULT_ALERTMANAGER_SEVERITY = 'critical';

export function alertmanagerSignals(p: AlertmanagerPayload, integration: { id: string; tenant: string; service: string | null }): AlertSignal[] {
  return p.alerts.map((a) => {
    const links: AlertLink[] = [];
    if (a.generatorURL) links.push({ href: a.generatorURL, text: 'Source' });
    if (a.annotations.runbook_url) links.push({ href: a.annotations.runbook_url, text: 'Runbook' });
    if (p.externalURL) links.push({ href: p.externalURL, text: 'Alertmanager' });
    const summary = a.annotations.summary ?? a.annotations.description ?? a.labels.alertname ?? `Alertmanager alert ${a.fingerprint}`;
    return {
      tenant: integration.tenant,
      dedupKey: `alertmanager/${integration.id}/${a.fingerprint}`,
      source: 'alertmanager',
      status: a.status,
      severity: a.labels.severity ?? DEFAULT_ALERTMANAGER_SEVERITY,
      summary: summary.slice(0, 1024),
      labels: a.labels,
      details: {
        annotations: a.annotations,
        ...(a.annotations.description ? { description: a.annotations.description } : {}),
        fingerprint: a.fingerprint,
        starts_at: a.startsAt,
        ...(a.endsAt ? { ends_at: a.endsAt } : {}),
        ...(p.groupKey ? { group_key: p.groupKey } : {}),
        ...(p.receiver ? { receiver: p.receiver } : {}),
      },
      links,
      ...(integration.service ? { service: integration.service } : {}),
      values: { fingerprint: a.fingerprint, status: a.status },
    };
  });
}
