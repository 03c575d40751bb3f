/**
 * Composition of the distributed mode: the same domain modules on NATS JetStream (event log) and
 * PostgreSQL (state), with only what this process's roles need started:
 *   ingest     accepts events (stateless; any number behind a load balancer; shared quotas)
 *   worker     runs the processors (any number; partitions shared through durable consumers)
 *   evaluator  runs leader-only work (one leader per leadership via leases in PostgreSQL; standbys wait)
 *   api        serves the HTTP API (any number)
 * Every role serves /healthz, /readyz (its dependencies) and /metrics.
 */
import type { FastifyInstance } from 'fastify';
import { distributedFacts } from '../cluster/doctor.js';
import { doctorChecks, type DoctorFacts } from '../cluster/doctor-checks.js';
import { NoLeadership, PostgresLeadership, newHolderId, type Leadership } from '../cluster/leadership.js';
import { logRetentionLoop } from '../cluster/log-retention.js';
import { startMembership } from '../cluster/membership.js';
import { registerClusterGauges } from '../cluster/metrics.js';
import { agreeOnSetting } from '../cluster/settings.js';
import { SharedQuotas } from '../cluster/shared-quotas.js';
import { Bus } from '../core/bus.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { KeelConfig } from '../core/config.js';
import type { CoreContext, Roles } from '../module/context.js';
import { KeelError } from '../core/errors.js';
import { LocalQuotas, type QuotaGate } from '../ingest/quotas.js';
import { redactNatsUrl } from '../log/jetstream/connection.js';
import { JetStreamEventLog } from '../log/jetstream/jetstream-event-log.js';
import { redactUrl, withStartupLock } from '../store/postgres.js';
import { openPostgresStore, type Store } from '../store/store.js';
import { ShutdownSteps } from '../core/shutdown.js';
import type { Logger } from '../telemetry/logger.js';
import { KeelMetrics } from '../telemetry/metrics.js';
import type { ReadinessCheck } from '../telemetry/routes.js';
import { composeKeel } from './compose.js';
import type { DomainModules } from './modules.js';
import { roleLabel } from './roles.js';
import { VERSION } from './version.js';

export interface DistributedOptions {
  config: KeelConfig;
  logger: Logger;
  roles: Roles;
  clock?: Clock;
  bootstrapKey?: string;
  listen?: boolean;
  /** Where the loud durability warning goes (stderr); tests pass a sink. */
  warn?: (text: string) => void;
}

export interface DistributedInstance {
  app: FastifyInstance;
  ctx: CoreContext;
  /** The domain modules: typed handles for tests. */
  modules: DomainModules;
  store: Store;
  log: JetStreamEventLog;
  metrics: KeelMetrics;
  url: string;
  /** This process's id in cluster_members and leader_tenures. */
  holder: string;
  role: string;
  bootstrapKey?: { adminKey: string; generated: boolean };
  /** Stops everything; `steps` names what it waits for (the caller bounds it: server.shutdownTimeout). */
  close(steps?: ShutdownSteps): Promise<void>;
}

/** Retries a dependency until it answers, so a process started before NATS or PostgreSQL comes up by itself. */
async function untilReachable<T>(what: string, logger: Logger, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KeelError && err.code === 'validation_failed') throw err;
      const fatal = misconfiguration(err);
      if (fatal) throw new KeelError('validation_failed', `${what}: ${fatal}`, { cause: err });
      const pause = Math.min(5_000, 250 * 2 ** attempt);
      logger.warn({ err, retryInMs: pause }, `${what} is not reachable yet; retrying`);
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** Errors no retry will fix (bad credentials, a missing database): stop with the reason. */
function misconfiguration(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (code.startsWith('28') || code === '3D000' || code === '42501') return message;
  if (/authorization violation|authentication (timeout|expired)|user authentication/i.test(message)) return message;
  return undefined;
}

export function assertDistributedConfig(config: KeelConfig, env: NodeJS.ProcessEnv = process.env): { natsUrl: string; postgresUrl: string } {
  const natsUrl = config.nats.url;
  const postgresUrl = config.postgres.url;
  if (!natsUrl || !postgresUrl) {
    const missing = [!natsUrl ? '--nats <url> (KEEL_NATS_URL)' : '', !postgresUrl ? '--postgres <url> (KEEL_POSTGRES_URL)' : ''].filter(Boolean);
    throw new KeelError('validation_failed', `the distributed mode needs NATS JetStream and PostgreSQL: set ${missing.join(' and ')}`);
  }
  if (!env.KEEL_SECRET_KEY && !config.secrets.keyFile) {
    throw new KeelError('validation_failed', 'the distributed mode needs one secret key shared by every process: set KEEL_SECRET_KEY (32 bytes, hex or base64) or secrets.keyFile');
  }
  return { natsUrl, postgresUrl };
}

export async function startDistributed(opts: DistributedOptions): Promise<DistributedInstance> {
  const { config, logger, roles } = opts;
  const clock = opts.clock ?? systemClock;
  const { natsUrl, postgresUrl } = assertDistributedConfig(config);
  const role = roleLabel(roles);
  const holder = newHolderId(role);
  logger.info({ role, nats: redactNatsUrl(natsUrl), postgres: redactUrl(postgresUrl), schema: config.postgres.schema }, 'starting the distributed mode');

  const store = await untilReachable('PostgreSQL', logger, () =>
    openPostgresStore(postgresUrl, {
      ...(config.postgres.schema ? { schema: config.postgres.schema } : {}),
      poolSize: config.postgres.poolSize,
      ...(config.postgres.tls ? { tls: config.postgres.tls } : {}),
      applicationName: `keel ${role}`,
      onError: (err) => logger.warn({ err: { message: err.message } }, 'a PostgreSQL connection failed; it will be replaced'),
    }),
  );
  let log: JetStreamEventLog | undefined;
  try {
    await agreeOnSetting(store, 'partitions', String(config.nats.partitions), '--partitions (nats.partitions)');
    await agreeOnSetting(store, 'stream', config.nats.stream, 'nats.stream');
    log = await untilReachable('NATS JetStream', logger, () =>
      JetStreamEventLog.open({
        nats: {
          url: natsUrl,
          user: config.nats.user,
          password: config.nats.password,
          token: config.nats.token,
          credsFile: config.nats.credsFile,
          tls: config.nats.tls,
          name: `keel ${role} ${holder}`,
        },
        stream: {
          name: config.nats.stream,
          scheme: { prefix: config.nats.subjectPrefix, partitions: config.nats.partitions },
          replicas: config.nats.replicas,
          duplicateWindowMs: config.nats.duplicateWindow,
          compression: config.nats.compression,
          maxAgeMs: config.log.retention.maxAge,
          maxBytes: config.nats.maxBytes,
        },
        ackWaitMs: config.nats.ackWait,
        publishTimeoutMs: config.nats.publishTimeout,
        maxLagEvents: config.log.maxLagEvents,
        maxEventBytes: config.ingest.maxEventBytes,
        store,
        logger,
        workerId: holder,
        leaseMs: config.cluster.partitionLease,
      }),
    );
  } catch (e) {
    await log?.close();
    await store.close();
    throw e;
  }
  const jlog = log;

  const metrics = new KeelMetrics();
  const bus = new Bus((event, err) => logger.error({ err, event }, 'bus listener failed'));
  const leadership: Leadership = roles.evaluator
    ? new PostgresLeadership({ handle: store.postgres!, holder, logger, pollMs: config.cluster.leaderPoll, leaseMs: config.cluster.leaderLease })
    : new NoLeadership(holder);
  const shared = roles.ingest || roles.api ? new SharedQuotas({ store, defaults: config.quota, clock, leaseMs: config.cluster.quotaLease, logger }) : undefined;
  const quotas: QuotaGate = shared ?? new LocalQuotas(config.quota, clock);
  const readiness: ReadinessCheck[] = [{ name: 'state_store', check: () => store.ping() }];
  if (roles.evaluator) {
    readiness.push({
      name: 'leadership',
      check: async () => {
        if (!leadership.healthy()) throw new Error('the leader-lease connection to PostgreSQL is down; reconnecting');
      },
    });
  }
  const facts = () => distributedFacts({ log: jlog, store, config });

  let keel;
  try {
    keel = await composeKeel({
      config,
      logger,
      clock,
      store,
      log: jlog,
      bus,
      metrics,
      roles,
      leadership,
      quotas,
      ...(opts.bootstrapKey !== undefined ? { bootstrapKey: opts.bootstrapKey } : {}),
      serializeBootstrap: (fn) => withStartupLock(store.postgres!, 'bootstrap', fn),
      readiness,
      logReadiness: roles.ingest || roles.worker || roles.api,
      describe: () => ({ role, holder, leads: leadership.held() }),
      cluster: { facts, stream: { partitions: config.nats.partitions, stream: config.nats.stream, subjectPrefix: config.nats.subjectPrefix } },
      ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
    });
  } catch (e) {
    await leadership.stop();
    await jlog.close();
    await store.close();
    throw e;
  }
  const ctx = keel.ctx;
  if (roles.evaluator) {
    ctx.whileLeader('log-retention', (lease) => logRetentionLoop({ log: jlog, store, config, logger, intervalMs: config.log.sweepInterval }, lease));
  }
  metrics.dependency('nats', () => {
    const h = jlog.health();
    if (!h.writable) throw new Error(h.overloaded?.reason ?? 'NATS is unreachable');
  });
  registerClusterGauges(metrics, {
    leads: () => leadership.held(),
    leaderships: () => leadership.names(),
    partitionsOwned: () => jlog.partitionsOwned(),
    natsConnected: () => jlog.connected(),
  });
  const membership = startMembership({ store, id: holder, role, url: keel.url, version: VERSION, logger });
  void warnAboutDurability(facts, logger, opts.warn ?? ((t) => process.stderr.write(t)));

  let closed = false;
  return {
    app: keel.app,
    ctx,
    modules: keel.modules,
    store,
    log: jlog,
    metrics,
    url: keel.url,
    holder,
    role,
    ...(keel.bootstrapKey ? { bootstrapKey: keel.bootstrapKey } : {}),
    close: async (steps = new ShutdownSteps()) => {
      if (closed) return;
      closed = true;
      await keel.close(steps);
      await steps.step('shared quotas', async () => shared?.close());
      await steps.step('cluster membership', () => membership.stop());
      await steps.step('NATS (event log drain)', () => jlog.close());
      await steps.step('PostgreSQL pool', () => store.close());
    },
  };
}

/** Logs every durability shortfall and prints them loudly once at startup. */
async function warnAboutDurability(facts: () => Promise<DoctorFacts>, logger: Logger, write: (text: string) => void): Promise<void> {
  try {
    const checks = doctorChecks(await facts()).filter((c) => c.status !== 'ok' && (c.name.startsWith('nats.') || c.name.startsWith('postgres.')));
    if (checks.length === 0) return;
    for (const c of checks) logger.warn({ check: c.name, status: c.status }, c.message);
    write(
      `\n!!! Keel durability warning: this deployment is not production-safe !!!\n${checks.map((c) => `  - [${c.status}] ${c.name}: ${c.message}`).join('\n')}\n  Run \`keel doctor\` for the full report; see docs/distributed.md.\n\n`,
    );
  } catch (err) {
    logger.warn({ err }, 'could not check durability settings');
  }
}
