/**
 * Keel watching itself: Prometheus gauges for what the alerts about Keel need and no other metric
 * says (deploy/prometheus/keel-alerts.yaml, docs/runbooks/):
 *   keel_audit_chain_valid                      1 while the audit chain verifies, 0 once it does not
 *   keel_audit_chain_verified_timestamp_seconds when the chain was last verified (leader-only work)
 *   keel_tls_certificate_expiry_timestamp_seconds{use}  notAfter of each certificate Keel presents
 *   keel_data_dir_free_bytes, keel_data_dir_size_bytes  the data directory's filesystem (embedded)
 * Certificates are re-read at every scrape, so a renewed file shows without a restart.
 */
import { statfsSync } from 'node:fs';
import client from 'prom-client';
import { AuditQuery } from '../audit/audit-query.js';
import type { CoreContext, KeelModule } from '../module/context.js';
import { certificateExpiry, configuredCertificates } from './certificates.js';

/** The whole chain is read each time: often enough to page within the hour, rare enough to cost little. */
const AUDIT_VERIFY_INTERVAL_MS = 15 * 60_000;

export function selfWatchModule(ctx: CoreContext): KeelModule {
  const registers = [ctx.metrics.registry];
  // Registered at this process's first verification, not before: an unlabelled gauge reads 0 until
  // set, and 0 here pages (KeelAuditChainBroken) from every process that does not lead audit-verify
  // (api/ingest roles, standbys) and from a leader that has not verified yet.
  const chainValid = new client.Gauge({ name: 'keel_audit_chain_valid', help: '1 while the hash-chained audit log verifies, 0 once an entry was altered or removed (keel audit verify names it).', registers: [] });
  const chainVerifiedAt = new client.Gauge({ name: 'keel_audit_chain_verified_timestamp_seconds', help: 'When the audit chain was last verified (epoch seconds).', registers: [] });
  let chainExported = false;
  const certExpiry = new client.Gauge({
    name: 'keel_tls_certificate_expiry_timestamp_seconds',
    help: 'When each TLS certificate Keel presents stops being valid (epoch seconds); use = server, nats_client, postgres_client.',
    labelNames: ['use'] as const,
    registers,
  });
  const diskFree = new client.Gauge({ name: 'keel_data_dir_free_bytes', help: 'Bytes available to Keel on the filesystem of its data directory (embedded mode).', registers });
  const diskSize = new client.Gauge({ name: 'keel_data_dir_size_bytes', help: 'Size of the filesystem of the data directory (embedded mode).', registers });

  const certificates = configuredCertificates(ctx.config);
  ctx.metrics.onScrape('selfwatch', () => {
    certExpiry.reset();
    for (const c of certificates) {
      try {
        certExpiry.set({ use: c.use }, certificateExpiry(c.path));
      } catch (err) {
        ctx.logger.warn({ err, certificate: c.path }, 'cannot read a TLS certificate to export its expiry');
      }
    }
    if (ctx.store.engine === 'sqlite') {
      const fs = statfsSync(ctx.config.dataDir);
      diskFree.set(fs.bavail * fs.bsize);
      diskSize.set(fs.blocks * fs.bsize);
    }
  });

  const audit = new AuditQuery(ctx.store);
  const verify = async () => {
    const r = await audit.verify();
    chainValid.set(r.ok ? 1 : 0);
    chainVerifiedAt.set(Math.floor(ctx.clock.now() / 1000));
    if (!chainExported) {
      chainExported = true;
      ctx.metrics.registry.registerMetric(chainValid);
      ctx.metrics.registry.registerMetric(chainVerifiedAt);
    }
    if (!r.ok) ctx.logger.error({ problem: r.problem }, 'the audit chain does not verify: an entry was altered or removed (keel audit verify)');
  };

  return {
    name: 'selfwatch',
    start: async () => {
      ctx.whileLeader('audit-verify', async (lease) => {
        while (!lease.signal.aborted) {
          await verify().catch((err: unknown) => ctx.logger.warn({ err }, 'audit chain verification failed to run; retrying later'));
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, AUDIT_VERIFY_INTERVAL_MS);
            lease.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
          });
        }
      });
    },
  };
}
