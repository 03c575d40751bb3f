/**
 * One pooled SMTP connection set per tenant, shared by every email the delivery worker sends.
 * Without it each email opened its own connection (TCP, greeting, EHLO, STARTTLS, AUTH): a storm
 * paging by email opened as many connections at once as deliveries in flight (64 by default), more
 * than relays accept from one client (Postfix: 50), and the refused ones waited for a retry.
 *
 * nodemailer's pool keeps at most `SMTP_CONNECTIONS` open per tenant, sends up to 100 messages on
 * one, closes a connection idle for 4 minutes (below the 5 RFC 5321 asks servers to wait) and
 * replaces one the server closed. A tenant's pool is rebuilt when its SMTP settings change (a new
 * password takes effect at the next email), and every pool is closed when the worker stops.
 */
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Logger } from '../../telemetry/logger.js';
import type { SmtpSettings } from './smtp-settings.js';

/** Connections per tenant's SMTP server at most (nodemailer's default; a storm's emails queue on them). */
export const SMTP_CONNECTIONS = 5;

export type SmtpTransport = ReturnType<typeof nodemailer.createTransport>;

export class SmtpTransports {
  private readonly pools = new Map<string, { settings: string; transport: SmtpTransport }>();

  constructor(private readonly o: { timeoutMs: number; logger: Logger }) {}

  /** The tenant's pool for these settings: the same one while they stay the same. */
  for(tenant: string, smtp: SmtpSettings): SmtpTransport {
    // The password only as a digest: the key says whether the settings changed, nothing more.
    const settings = JSON.stringify([
      smtp.host,
      smtp.port,
      smtp.secure,
      smtp.requireTls,
      smtp.user ?? null,
      smtp.password === undefined ? null : createHash('sha256').update(smtp.password).digest('hex'),
    ]);
    const current = this.pools.get(tenant);
    if (current?.settings === settings) return current.transport;
    // Emails still queued on the old pool fail ("Connection pool was closed") and are retried with the new settings.
    current?.transport.close();
    const transport = nodemailer.createTransport({
      pool: true,
      maxConnections: SMTP_CONNECTIONS,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireTls,
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      connectionTimeout: this.o.timeoutMs,
      greetingTimeout: this.o.timeoutMs,
      socketTimeout: this.o.timeoutMs,
      // Local relays often have self-signed certificates; TLS still encrypts.
      tls: { rejectUnauthorized: smtp.requireTls },
    });
    // A pool's own errors reach each email's send; an 'error' event without a listener would end the process.
    transport.on('error', (err) => this.o.logger.warn({ err, tenant }, 'SMTP connection pool error'));
    this.pools.set(tenant, { settings, transport });
    return transport;
  }

  /** Closes every pool (the worker stopped; nothing is being sent). */
  closeAll(): void {
    for (const { transport } of this.pools.values()) transport.close();
    this.pools.clear();
  }
}
