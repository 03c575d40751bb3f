/**
 * Keel watching itself (docs/self-monitoring.md):
 * - its own SLOs: outcomes of ingest, processing and notification recorded into the reserved
 *   `keel-system` tenant (recorder.ts) and built-in OpenSLO definitions applied there at start
 *   (definitions.ts), evaluated by the ordinary SLO engine and paging;
 * - the alerts about Keel raised by Keel itself (self-alerts.ts, thresholds.ts);
 * - Prometheus gauges for what the exported alerts need and no other metric says
 *   (deploy/prometheus/keel-alerts.yaml, docs/runbooks/):
 *   keel_audit_chain_valid                      1 while the audit chain verifies, 0 once it does not
 *   keel_audit_chain_verified_timestamp_seconds when the chain was last verified (leader-only work)
 *   keel_tls_certificate_expiry_timestamp_seconds{use}  notAfter of each certificate Keel presents
 *   keel_data_dir_free_bytes, keel_data_dir_size_bytes  the data directory's filesystem (embedded)
 * Certificates are re-read at every scrape, so a renewed file shows without a restart.
 */
import { statfsSync } from 'node:fs';
import client from 'prom-client';
import { AuditQuery } from '../audit/audit-query.js';
import type { CoreContext, DoctorCheck, KeelModule, LeaderLease } from '../module/context.js';
import { KeelError } from '../core/errors.js';
import { certificateExpiry, configuredCertificates } from './certificates.js';
import { SELF_ACTOR, SELF_SOURCE, SELF_TENANT, resolveSelfSlos, selfDefinitionsYaml } from './definitions.js';
import { SelfRecorder } from './recorder.js';
import { SelfAlerts } from './self-alerts.js';
import { AUDIT_CHAIN_BROKEN, CERTIFICATE_EXPIRING, CONSUMER_LAG, DISK_FILLING, LEADER_LOST, NOTIFICATION_CHANNEL_FAILING, RUNBOOK_WAITING_FOR_DECISION } from './thresholds.js';

export function selfWatchModule(ctx: CoreContext): KeelModule {
  const settings = ctx.config.selfMonitoring;
  const registers = [ctx.metrics.registry];
  // Registered at this process's first verification, not before: an unlabelled gauge reads 0 until
  // set, and 0 here pages (KeelAuditChainBroken) from every process that does not lead audit-verify
  // (api/ingest roles, standbys) and from a leader that has not verified yet.
  const chainValid = new client.Gauge({
    name: 'keel_audit_chain_valid',
    help: '1 while the hash-chained audit log verifies, 0 once an entry was altered or removed (keel audit verify names it).',
    registers: [],
  });
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

  const raising = settings.enabled && settings.alerts;
  const selfAlerts = new SelfAlerts({ alerts: ctx.alerts, store: ctx.store, log: ctx.log, clock: ctx.clock, logger: ctx.logger, config: ctx.config });
  const audit = new AuditQuery(ctx.store);
  const verify = async (signal: AbortSignal) => {
    const r = await audit.verify(undefined, signal);
    chainValid.set(r.ok ? 1 : 0);
    chainVerifiedAt.set(Math.floor(ctx.clock.now() / 1000));
    if (!chainExported) {
      chainExported = true;
      ctx.metrics.registry.registerMetric(chainValid);
      ctx.metrics.registry.registerMetric(chainVerifiedAt);
    }
    if (!r.ok) ctx.logger.error({ problem: r.problem }, 'the audit chain does not verify: an entry was altered or removed (keel audit verify)');
    if (raising) await selfAlerts.report([selfAlerts.auditChain(r.ok, r.ok ? undefined : r.problem)], [AUDIT_CHAIN_BROKEN]);
  };

  const { roles } = ctx;
  const role = roles.ingest && roles.worker && roles.evaluator && roles.api ? 'all' : (Object.keys(roles) as (keyof typeof roles)[]).filter((r) => roles[r]).join(',');
  const recorder = settings.enabled
    ? new SelfRecorder({
        log: ctx.log,
        clock: ctx.clock,
        logger: ctx.logger,
        metrics: ctx.metrics,
        bus: ctx.bus,
        role,
        maxPerFlush: settings.maxEventsPerFlush,
        flushIntervalMs: settings.flushInterval,
      })
    : undefined;
  const unsubscribe: (() => void)[] = [];
  if (recorder) {
    unsubscribe.push(
      ctx.bus.on('ingest.answered', (e) => recorder.record('ingest', { status: e.status, latency_ms: Math.round(e.latencyMs * 10) / 10 })),
      ctx.bus.on('slo.counted', (e) => {
        const now = ctx.clock.now();
        // Keel's own batches are not measured: each would record another batch to measure.
        for (const b of e.batches) if (b.tenant !== SELF_TENANT) recorder.record('freshness', { lag_ms: Math.max(0, now - b.receivedAt), events: b.count }, now);
      }),
      ctx.bus.on('notification.sent', (e) => recorder.record('notification', { outcome: e.status, channel: e.channel, latency_ms: e.queuedMs })),
    );
  }

  // Which escalation policy Keel's own pages reach: 'unset', 'missing' (named but not defined in
  // keel-system), or its name.
  let paging: { state: 'unset' | 'missing' | 'ok'; policy?: string } = { state: 'unset' };
  const sync = async () => {
    // Disabled on a data dir that never had it: nothing to create or remove.
    if (!settings.enabled && !(await ctx.tenants.get(SELF_TENANT))) return;
    await ctx.tenants.ensure(SELF_TENANT);
    const slos = resolveSelfSlos(settings);
    const policy = settings.escalationPolicy;
    const exists = policy ? await ctx.definitions.get(SELF_TENANT, 'EscalationPolicy', policy) : undefined;
    paging = !policy ? { state: 'unset' } : exists ? { state: 'ok', policy } : { state: 'missing', policy };
    if (settings.enabled) {
      const content = selfDefinitionsYaml(slos, { ...(exists ? { escalationPolicy: policy } : {}), runbookBaseUrl: settings.runbookBaseUrl });
      for (let attempt = 1; ; attempt++) {
        try {
          await ctx.definitions.apply(SELF_TENANT, [{ file: SELF_SOURCE, content }], SELF_ACTOR);
          break;
        } catch (e) {
          // Another process of the cluster applied the same definitions at the same moment.
          if (!(e instanceof KeelError && e.code === 'conflict') || attempt >= 5) throw e;
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    }
    for (const s of slos.filter((x) => !x.enabled)) {
      const current = await ctx.definitions.get(SELF_TENANT, 'SLO', s.name);
      if (current) await ctx.definitions.remove(SELF_TENANT, 'SLO', s.name, SELF_ACTOR).catch((err: unknown) => ctx.logger.warn({ err, slo: s.name }, 'could not remove a disabled built-in SLO'));
    }
  };
  let syncing: Promise<void> = Promise.resolve();
  const resync = () => {
    syncing = syncing.then(sync).catch((err: unknown) => ctx.logger.error({ err }, 'could not apply Keel’s built-in self-monitoring definitions to the keel-system tenant'));
    return syncing;
  };
  // An escalation policy defined in keel-system after start is picked up at once.
  unsubscribe.push(
    ctx.bus.on('definitions.applied', (e) => {
      if (e.tenant === SELF_TENANT && e.actor !== SELF_ACTOR) void resync();
    }),
  );

  const pagingMessage = () =>
    paging.state === 'unset'
      ? 'selfMonitoring.escalationPolicy is not set: burns of Keel’s own SLOs and alerts about Keel open incidents in the keel-system tenant that page NOBODY. Define an EscalationPolicy in keel-system and name it there (docs/self-monitoring.md).'
      : paging.state === 'missing'
        ? `selfMonitoring.escalationPolicy names "${paging.policy}", which is not defined in the keel-system tenant: Keel’s own pages reach NOBODY until it is applied there (docs/self-monitoring.md).`
        : `Keel’s own SLO burns and alerts page escalation policy "${paging.policy}" (tenant keel-system).`;

  const doctor = async (): Promise<DoctorCheck[]> => {
    if (!settings.enabled) return [{ name: 'self.monitoring', status: 'warn', message: 'selfMonitoring.enabled is false: Keel records no SLOs of its own and raises no alerts about itself.' }];
    await syncing;
    return [
      {
        name: 'self.monitoring',
        status: 'ok',
        message: `Keel’s own SLOs (${resolveSelfSlos(settings)
          .filter((s) => s.enabled)
          .map((s) => s.name)
          .join(', ')}) live in tenant keel-system${settings.alerts ? '; Keel raises its alerts about itself' : '; alerts about Keel are left to Prometheus (selfMonitoring.alerts: false)'}.`,
      },
      { name: 'self.paging', status: paging.state === 'ok' ? 'ok' : 'warn', message: pagingMessage() },
    ];
  };

  const alertsLoop = async (lease: LeaderLease) => {
    const covered = [CERTIFICATE_EXPIRING, DISK_FILLING, CONSUMER_LAG, LEADER_LOST, NOTIFICATION_CHANNEL_FAILING, RUNBOOK_WAITING_FOR_DECISION];
    while (!lease.signal.aborted) {
      const round = selfAlerts
        .evaluate()
        .then((conditions) => selfAlerts.report(conditions, covered))
        .catch((err: unknown) => ctx.logger.warn({ err }, 'alerts about Keel could not be evaluated; retrying later'));
      // A lost leadership or a shutdown does not wait for a slow source (the log's statistics):
      // the round finishes on its own, and its signals are deduplicated.
      await untilDoneOrAborted(round, lease.signal);
      await pause(settings.checkInterval, lease.signal);
    }
  };

  return {
    name: 'selfwatch',
    doctor,
    start: async () => {
      await resync();
      if (settings.enabled && paging.state !== 'ok') {
        ctx.logger.warn({ selfMonitoring: paging }, pagingMessage());
        // Beside the log line, where an operator starting Keel sees it (not with logLevel: silent).
        if (ctx.config.logLevel !== 'silent') process.stderr.write(`\n!!! Keel self-monitoring: ${pagingMessage()} !!!\n\n`);
      }
      recorder?.start();
      ctx.whileLeader('audit-verify', async (lease) => {
        while (!lease.signal.aborted) {
          const round = verify(lease.signal).catch((err: unknown) => {
            if (!lease.signal.aborted) ctx.logger.warn({ err }, 'audit chain verification failed to run; retrying later');
          });
          // A shutdown or a lost lease does not wait for the page being read: the walk stops
          // before its next page and reports nothing.
          await untilDoneOrAborted(round, lease.signal);
          await pause(settings.auditVerifyInterval, lease.signal);
        }
      });
      if (raising && ctx.roles.evaluator) ctx.whileLeader('selfwatch-alerts', alertsLoop);
    },
    stop: async () => {
      for (const u of unsubscribe) u();
      // A shutdown never waits long on Keel's own bookkeeping: the last second of outcomes is
      // worth less than a prompt exit (a log that cannot take them would hold the stop).
      await bounded(syncing, 2_000);
      if (recorder) await bounded(recorder.stop(), 2_000);
    },
  };
}

async function untilDoneOrAborted(work: Promise<void>, signal: AbortSignal): Promise<void> {
  let onAbort = () => undefined as void;
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function bounded(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
