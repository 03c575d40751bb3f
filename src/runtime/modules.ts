/**
 * The domain modules of a running Keel, in start order: the one place a domain is wired in (the
 * lint checks that nothing else imports a module factory). A new domain adds one line here.
 */
import { auditModule } from '../audit/module.js';
import { authModule, type AuthModule } from '../auth/module.js';
import { backupModule } from '../backup/module.js';
import { capacityModule } from '../capacity/module.js';
import { clusterModule, type ClusterWiring } from '../cluster/module.js';
import { complianceModule } from '../compliance/module.js';
import { consoleModule } from '../console/module.js';
import type { CoreContext, KeelModule } from '../module/context.js';
import { definitionsModule } from '../definitions/module.js';
import { incidentEvidence } from '../paging/incidents/evidence.js';
import { ingestModule, type IngestModule } from '../ingest/module.js';
import type { QuotaGate } from '../ingest/quotas.js';
import { pagingModule, type PagingModule } from '../paging/module.js';
import { runbooksModule } from '../runbooks/module.js';
import { ToilService } from '../runbooks/toil.js';
import { servicesModule } from '../services/module.js';
import { sloEvidence } from '../slo/evidence.js';
import { sloModule } from '../slo/module.js';
import { selfWatchModule } from '../selfwatch/module.js';
import { verifyModule } from '../verify/module.js';
import { telemetryModule } from '../telemetry/module.js';
import type { ReadinessCheck } from '../telemetry/routes.js';
import { VERSION } from './version.js';

/** What the mode (embedded or distributed) tells the modules about itself. */
export interface RuntimeWiring {
  quotas: QuotaGate;
  /** Dependencies /readyz checks, besides the modules' own. */
  readiness: ReadinessCheck[];
  /** Whether /readyz includes the event log's writability (roles that ingest or process). */
  logReadiness: boolean;
  /** Facts added to /readyz (role, leaderships held). */
  describe?: (() => Record<string, unknown>) | undefined;
  cluster: ClusterWiring;
}

/** Every module in start order, and typed handles on those the runtime and tests reach into. */
export interface DomainModules {
  all: KeelModule[];
  auth: AuthModule;
  ingest: IngestModule;
  paging: PagingModule;
}

export function domainModules(ctx: CoreContext, runtime: RuntimeWiring): DomainModules {
  const capacity = capacityModule(ctx, { rateQuotas: runtime.quotas });
  const ingest = ingestModule(ctx, { quotas: capacity.quotaGate });
  const auth = authModule(ctx);
  const backups = backupModule(ctx, VERSION);
  const paging = pagingModule(ctx);
  const slo = sloModule(ctx);
  const domains: KeelModule[] = [
    ingest,
    servicesModule(ctx),
    auth,
    definitionsModule(ctx),
    auditModule(ctx),
    backups,
    capacity,
    slo,
    complianceModule(
      ctx,
      { accounts: auth.accounts, rotation: auth.rotation, backups: backups.backups },
      { slos: sloEvidence(ctx.store.db), incidents: incidentEvidence(ctx.store.db), automation: new ToilService(ctx.store).evidence() },
    ),
    paging,
    runbooksModule(ctx, paging, { evaluateSlos: slo.evaluate }),
    selfWatchModule(ctx),
    verifyModule(ctx),
    consoleModule(ctx),
    clusterModule(ctx, runtime.cluster, () => domains),
  ];
  const telemetry = telemetryModule(ctx, {
    auth: auth.authenticator,
    checks: [...runtime.readiness, ...domains.flatMap((m) => m.readiness ?? [])],
    logReadiness: runtime.logReadiness,
    describe: runtime.describe,
    version: VERSION,
  });
  return { all: [telemetry, ...domains], auth, ingest, paging };
}
