/**
 * Sends one notification over its channel and says how it went. The generic webhook carries the
 * delivery id (`X-Keel-Delivery`, and `delivery_id` in the body) and, with a signing secret, an
 * HMAC-SHA256 of the exact body bytes: `X-Keel-Signature: sha256=<hex>`. Failures that may pass
 * (network, timeouts, HTTP 408/429/5xx, SMTP 4xx) are retryable; the others are not.
 */
import { createHmac } from 'node:crypto';
import { request } from 'undici';
import { approvalEmail, approvalSlackBody, isApproval, type NotificationMessage } from './approval-message.js';
import { emailContent, slackBody, webhookBody } from './message.js';
import type { SecretStore } from './secret-store.js';
import type { SmtpSettingsStore } from './smtp-settings.js';
import type { SmtpTransports } from './smtp-transports.js';
import type { Target } from './targets.js';

export interface DeliveryResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  retryable: boolean;
}

export interface DeliveryDeps {
  secrets: SecretStore;
  smtp: SmtpSettingsStore;
  /** Pooled SMTP connections per tenant (smtp-transports.ts). */
  mailer: SmtpTransports;
  timeoutMs: number;
  now(): number;
}

export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export async function deliver(job: { id: string; tenant: string; target: Target; message: NotificationMessage }, deps: DeliveryDeps): Promise<DeliveryResult> {
  try {
    switch (job.target.type) {
      case 'webhook': {
        const body = JSON.stringify(webhookBody(job.message, job.id, deps.now()));
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'user-agent': 'Keel-Paging/1',
          'x-keel-delivery': job.id,
          'x-keel-event': job.message.event,
        };
        if (job.target.signingSecret) {
          const secret = await deps.secrets.open(job.tenant, job.target.signingSecret);
          if (secret === undefined) return permanent(`signing secret "${job.target.signingSecret}" is not set (keel paging secret set ${job.target.signingSecret})`);
          headers['x-keel-signature'] = signBody(secret, body);
        }
        return await post(job.target.url, body, headers, deps.timeoutMs);
      }
      case 'slack': {
        const url = await deps.secrets.open(job.tenant, job.target.webhookUrlSecret);
        if (url === undefined) return permanent(`Slack webhook URL secret "${job.target.webhookUrlSecret}" is not set (keel paging secret set ${job.target.webhookUrlSecret})`);
        if (!/^https?:\/\//i.test(url)) return permanent(`secret "${job.target.webhookUrlSecret}" is not an http(s) URL`);
        return await post(
          url,
          JSON.stringify(isApproval(job.message) ? approvalSlackBody(job.message) : slackBody(job.message)),
          { 'content-type': 'application/json', 'x-keel-delivery': job.id },
          deps.timeoutMs,
        );
      }
      case 'email':
        return await sendEmail(job.id, job.tenant, job.target.address, job.message, deps);
    }
  } catch (e) {
    return { ok: false, status: null, error: (e as Error).message, retryable: true };
  }
}

function permanent(error: string): DeliveryResult {
  return { ok: false, status: null, error, retryable: false };
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<DeliveryResult> {
  const res = await request(url, { method: 'POST', body, headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.body.text().catch(() => '');
  if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, status: res.statusCode, error: null, retryable: false };
  const retryable = res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429;
  return { ok: false, status: res.statusCode, error: `HTTP ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`, retryable };
}

async function sendEmail(id: string, tenant: string, to: string, m: NotificationMessage, deps: DeliveryDeps): Promise<DeliveryResult> {
  const smtp = await deps.smtp.get(tenant);
  if (!smtp) return permanent('no SMTP server is configured for this tenant (keel paging smtp set)');
  const transport = deps.mailer.for(tenant, smtp);
  const content = isApproval(m) ? approvalEmail(m) : emailContent(m);
  try {
    await transport.sendMail({ from: smtp.from, to, subject: content.subject, text: content.text, html: content.html, headers: { 'X-Keel-Delivery': id } });
    return { ok: true, status: 250, error: null, retryable: false };
  } catch (e) {
    const err = e as { responseCode?: number; message: string };
    const code = err.responseCode ?? null;
    return { ok: false, status: code, error: `SMTP: ${err.message}`, retryable: code === null || code < 500 };
  }
}
