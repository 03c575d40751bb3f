/** Backups of the embedded default (`keel backup`); `keel restore` works offline (restore.ts). */
import type { CoreContext, KeelModule } from '../core/context.js';
import { sealedKeyId } from '../core/secrets.js';
import { sql } from 'kysely';
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
    sealedSummary: async () => {
      const ids = new Set<string>();
      let values = 0;
      for (const c of ctx.sealed.list()) {
        const r = await sql<{ v: string }>`select ${sql.ref(c.column)} as v from ${sql.table(c.table)} where ${sql.ref(c.column)} is not null`.execute(ctx.store.db);
        for (const row of r.rows) {
          const id = sealedKeyId(String(row.v));
          if (id) {
            ids.add(id);
            values++;
          }
        }
      }
      return { keyIdsInUse: [...ids].sort(), values };
    },
  });
  return { name: 'backups', backups, routes: backupRoutes({ backups }) };
}
