/**
 * The domain modules of a running Keel, in start order. A new domain adds one line here.
 */
import { auditModule } from '../audit/module.js';
import { securityModule } from '../auth/module.js';
import { backupModule } from '../backup/module.js';
import { capacityModule } from '../capacity/module.js';
import { complianceModule } from '../compliance/module.js';
import type { CoreContext, KeelModule } from '../core/context.js';
import { incidentEvidence } from '../incidents/evidence.js';
import { pagingModule } from '../paging/module.js';
import { runbooksModule } from '../runbooks/module.js';
import { ToilService } from '../runbooks/toil.js';
import { servicesModule } from '../services/module.js';
import { sloEvidence } from '../slo/evidence.js';
import { sloModule } from '../slo/module.js';
import { selfWatchModule } from '../selfwatch/module.js';
import { VERSION } from './version.js';

export function domainModules(ctx: CoreContext): KeelModule[] {
  const security = securityModule(ctx);
  const backups = backupModule(ctx, VERSION);
  const slo = sloModule(ctx);
  const paging = pagingModule(ctx);
  return [
    servicesModule(ctx),
    security,
    auditModule(ctx),
    backups,
    capacityModule(ctx),
    slo,
    complianceModule(ctx, { accounts: security.accounts, rotation: security.rotation, backups: backups.backups }, { slos: sloEvidence(ctx.store.db), incidents: incidentEvidence(ctx.store.db), automation: new ToilService(ctx.store).evidence() }),
    paging,
    runbooksModule(ctx, paging),
    selfWatchModule(ctx),
  ];
}
