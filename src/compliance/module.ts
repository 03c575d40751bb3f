/**
 * The compliance report. SLO and incident evidence come from the domains that own them: pass
 * their sources here (the defaults read SLO definitions and alert counts).
 */
import { AuditQuery } from '../audit/audit-query.js';
import type { Accounts } from '../auth/accounts.js';
import type { SecretRotation } from '../auth/secret-rotation.js';
import type { BackupService } from '../backup/backup-service.js';
import type { CoreContext, KeelModule } from '../module/context.js';
import { alertCounts, definedSlos, type EvidenceSource } from './evidence.js';
import { complianceRoutes } from './routes.js';

export function complianceModule(
  ctx: CoreContext,
  deps: { accounts: Accounts; rotation: SecretRotation; backups: BackupService },
  sources: { slos?: EvidenceSource; incidents?: EvidenceSource; automation?: EvidenceSource } = {},
): KeelModule {
  return {
    name: 'compliance',
    routes: complianceRoutes({
      store: ctx.store,
      people: ctx.people,
      keys: ctx.keys,
      accounts: deps.accounts,
      audit: new AuditQuery(ctx.store),
      rotation: deps.rotation,
      backups: deps.backups,
      config: ctx.config,
      clock: ctx.clock,
      sources: {
        slos: sources.slos ?? definedSlos(ctx.store, ctx.definitions),
        incidents: sources.incidents ?? alertCounts(ctx.store),
        ...(sources.automation ? { automation: sources.automation } : {}),
      },
    }),
  };
}
