/** The TLS certificates Keel presents (its HTTPS server, its NATS and PostgreSQL client certificates), read from the configured files. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KeelConfig } from '../core/config.js';

export interface CertificateFile {
  /** What the certificate is for: server, nats_client, postgres_client. */
  use: string;
  path: string;
}

export function configuredCertificates(config: KeelConfig): CertificateFile[] {
  const out: CertificateFile[] = [];
  if (config.server.tls?.cert) out.push({ use: 'server', path: config.server.tls.cert });
  if (config.nats.tls?.cert) out.push({ use: 'nats_client', path: config.nats.tls.cert });
  if (config.postgres.tls?.cert) out.push({ use: 'postgres_client', path: config.postgres.tls.cert });
  return out;
}

/** When the first certificate of a PEM file stops being valid, in epoch seconds. */
export function certificateExpiry(path: string): number {
  return Math.floor(Date.parse(new X509Certificate(readFileSync(path)).validTo) / 1000);
}
