/** Backups of the embedded default (`keel backup`); `keel restore` works offline (restore.ts). */
import type { CoreContext, KeelModule } from '../module/context.js';
import { sealedUsage } from '../store/sealed-usage.js';
import { BackupService } from './backup-service.js';
import { backupRoutes } from './routes.js';

export interface BackupModule extends KeelModule {
  backups: BackupService;
}

export function backupModule(ctx: CoreContext, version: string): BackupModule {
  const backups = new BackupService({
    dataDir: ctx.config.dataDir,
    store: ctx.store,
    clock: ctx.clock,
    version,
    // Which keys the backed-up secrets need, so a restore can check it was given the right one.
    sealedSummary: () => sealedUsage(ctx.store.db, ctx.sealed),
  });
  return { name: 'backups', backups, routes: backupRoutes({ backups }) };
}
