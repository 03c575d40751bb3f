/**
 * The composition shared by the embedded and the distributed mode: given the adapters (store, log,
 * quotas, leadership) and the roles this process runs, it builds the services, the domain modules
 * and the HTTP server. Holds no logic; the two modes differ only in what they pass in.
 */
import type { FastifyInstance } from 'fastify';
import { AlertService } from '../alerting/alert-service.js';
import { buildServer } from '../api/server.js';
import { AuditLog } from '../audit/audit-log.js';
import { ApiKeyService } from '../auth/api-keys.js';
import { bootstrap } from '../auth/bootstrap.js';
import { TenantService } from '../auth/tenants.js';
import type { Leadership } from '../cluster/leadership.js';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { KeelConfig } from '../core/config.js';
import type { CoreContext, KeelModule, Roles } from '../module/context.js';
import { DefinitionsService } from '../definitions/definitions-service.js';
import { KindRegistry } from '../definitions/kinds.js';
import type { QuotaGate } from '../ingest/quotas.js';
import type { EventLog } from '../log/event-log.js';
import { PeopleService } from '../people/people-service.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { KeelMetrics } from '../telemetry/metrics.js';
import type { ReadinessCheck } from '../telemetry/routes.js';
import type { AnyRoute } from '../api/route.js';
import type { ClusterWiring } from '../cluster/module.js';
import { domainModules, type DomainModules } from './modules.js';
import { ShutdownSteps } from '../core/shutdown.js';
import { SealedColumns } from '../core/sealed-columns.js';
import { loadKeyring } from './secret-key.js';
import { assertPortFree, assertSecretsReadable, listenFailed } from './start-checks.js';
import { VERSION } from './version.js';

export const ALL_ROLES: Roles = { ingest: true, worker: true, evaluator: true, api: true };

export interface ComposeInput {
  config: KeelConfig;
  logger: Logger;
  clock: Clock;
  store: Store;
  log: EventLog;
  bus: Bus;
  metrics: KeelMetrics;
  roles: Roles;
  leadership: Leadership;
  quotas: QuotaGate;
  bootstrapKey?: string;
  /** Runs first-start bootstrap (distributed: under a lock, so concurrent starts create one admin key). */
  serializeBootstrap?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Dependencies /readyz checks, besides the modules' own. */
  readiness: ReadinessCheck[];
  /** Whether /readyz includes the event log's writability (roles that ingest or process). */
  logReadiness: boolean;
  /** Facts added to /readyz (role, leaderships held). */
  describe?: () => Record<string, unknown>;
  /** What `keel doctor` and GET /v1/cluster report about this mode. */
  cluster: ClusterWiring;
  /** Listen (default true); tests may use `app.inject` instead. */
  listen?: boolean;
}

export interface ComposedKeel {
  app: FastifyInstance;
  ctx: CoreContext;
  /** The domain modules (`modules.all` in start order; typed handles for the runtime and tests). */
  modules: DomainModules;
  routes: AnyRoute[];
  url: string;
  bootstrapKey?: { adminKey: string; generated: boolean };
  /** Stops the server, the modules and the parse threads (the caller closes the adapters); `steps` names what it waits for. */
  close(steps?: ShutdownSteps): Promise<void>;
}

export async function composeKeel(input: ComposeInput): Promise<ComposedKeel> {
  // What this composition starts (parse threads, modules, the server) is stopped again if a later
  // step fails, so a refused start exits cleanly; the caller closes the adapters it opened.
  const started: (() => Promise<void>)[] = [];
  try {
    return await compose(input, started);
  } catch (e) {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    throw e;
  }
}

async function compose(input: ComposeInput, started: (() => Promise<void>)[]): Promise<ComposedKeel> {
  const { config, logger, clock, store, log, bus, metrics, roles, leadership } = input;
  started.push(() => leadership.stop());
  const tenants = new TenantService(store, clock);
  const keys = new ApiKeyService(store, tenants, clock);
  const audit = new AuditLog(store, clock);
  const runBootstrap = async () => {
    const boot = await bootstrap(tenants, keys, input.bootstrapKey);
    if (boot) {
      await audit.record({ actor: 'system', action: 'keys.bootstrap', tenant: 'default', target: 'key/bootstrap', after: { scopes: ['admin'] } });
    }
    return boot;
  };
  // Before the bootstrap: a first start that then could not listen would lose the admin key it made.
  if (input.listen !== false) await assertPortFree(config.server.host, config.server.port);
  const boot = input.serializeBootstrap ? await input.serializeBootstrap(runBootstrap) : await runBootstrap();
  const kinds = new KindRegistry();
  const keyring = loadKeyring(config, process.env, { deferNewKey: true });
  const ctx: CoreContext = {
    config,
    logger,
    clock,
    store,
    log,
    bus,
    metrics,
    tenants,
    keys,
    audit,
    people: new PeopleService(store, clock),
    alerts: new AlertService(store, clock, bus),
    kinds,
    definitions: new DefinitionsService(store, kinds, clock, bus),
    secrets: keyring.box,
    keyring,
    sealed: new SealedColumns(),
    roles,
    whileLeader: (name, fn) => leadership.run(name, fn),
  };

  const modules = domainModules(ctx, {
    quotas: input.quotas,
    readiness: input.readiness,
    logReadiness: input.logReadiness,
    describe: input.describe,
    cluster: input.cluster,
  });
  // Stopped again (in reverse) if a later step fails: the ingest module's parse threads are running.
  started.push(() => stopAll(modules.all));
  // The modules have registered their sealed columns; nothing has started or sealed anything yet.
  await assertSecretsReadable({ db: store.db, sealed: ctx.sealed, keyring, config, logger });
  const routes: AnyRoute[] = modules.all.filter((m) => roles.api || m.servedByEveryRole).flatMap((m) => m.routes ?? []);
  const app = buildServer({
    auth: modules.auth.authenticator,
    audit,
    metrics,
    logger,
    routes,
    version: VERSION,
    requestTimeoutMs: config.server.requestTimeout,
    bodyLimit: config.security.maxBodyBytes,
    handlerTimeoutMs: config.security.handlerTimeout,
    checkResponses: config.server.checkResponses,
    corsOrigins: config.security.cors.origins,
    ...(config.server.tls ? { tls: config.server.tls } : {}),
  });
  started.push(() => app.close());

  for (const m of modules.all) await m.start?.();

  let url = '';
  if (input.listen !== false) {
    try {
      url = await app.listen({ host: config.server.host, port: config.server.port });
    } catch (err) {
      // Taken between the check and now: say so, and how to get the admin key this start made.
      throw listenFailed(err, config.server.host, config.server.port, boot?.generated === true);
    }
  } else {
    await app.ready();
  }

  let closed = false;
  return {
    app,
    ctx,
    modules,
    routes,
    url,
    ...(boot ? { bootstrapKey: boot } : {}),
    close: async (steps = new ShutdownSteps()) => {
      if (closed) return;
      closed = true;
      await steps.step('http server (requests in flight)', () => app.close());
      await steps.step('leader work', () => leadership.stop(steps));
      // The ingest module's stop closes the parse threads.
      for (const m of [...modules.all].reverse()) await steps.step(`module ${m.name}`, async () => m.stop?.());
      await steps.step('API key last-use times', () => keys.flushLastUsed());
    },
  };
}

async function stopAll(modules: KeelModule[]): Promise<void> {
  for (const m of [...modules].reverse()) await m.stop?.();
}
