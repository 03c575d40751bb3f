/**
 * `keel migrate`: apply the state store's schema migrations and exit. Every `keel start` migrates
 * too (under a lock); this runs them once before an upgrade's processes roll out (the Kubernetes
 * migration Job, the Ansible role), so a failing migration stops the upgrade before any new
 * process starts.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { globals } from '../context.js';
import { printJson } from '../output.js';

interface MigrateOpts {
  dataDir?: string;
  config?: string;
  postgres?: string;
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Apply schema migrations to PostgreSQL (distributed mode) or to <data-dir>/state.db (embedded), then exit')
    .option('-d, --data-dir <dir>', 'data directory of the embedded mode (env KEEL_DATA_DIR)')
    .option('-c, --config <file>', 'YAML configuration file (env KEEL_CONFIG; default <data-dir>/keel.yaml)')
    .option('--postgres <url>', "PostgreSQL URL (env KEEL_POSTGRES_URL): migrate the distributed mode's schema")
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  keel migrate --data-dir /var/lib/keel                     # embedded: before starting a new version',
        '  KEEL_POSTGRES_URL=postgres://keel@db/keel keel migrate     # distributed: before rolling out the roles',
        '',
        'Exit codes: 0 migrated (or nothing to do), 1 a migration failed, 2 invalid configuration.',
      ].join('\n'),
    )
    .action(async (opts: MigrateOpts, cmd: Command) => {
      const { loadConfig } = await import('../../core/config.js');
      const { openPostgresStore, openSqliteStore } = await import('../../store/store.js');
      const { migrations } = await import('../../store/migrations/index.js');
      const config = loadConfig({
        ...(opts.config ? { configFile: opts.config } : {}),
        overrides: { dataDir: opts.dataDir, 'postgres.url': opts.postgres },
      });
      const target = config.postgres.url ? 'postgres' : 'sqlite';
      const store =
        target === 'postgres'
          ? await openPostgresStore(config.postgres.url!, {
              ...(config.postgres.schema ? { schema: config.postgres.schema } : {}),
              poolSize: 1,
              ...(config.postgres.tls ? { tls: config.postgres.tls } : {}),
              applicationName: 'keel migrate',
            })
          : await openSqliteStore(join(config.dataDir, 'state.db'));
      await store.close();
      const result = { store: target, migrations: Object.keys(migrations).length, latest: Object.keys(migrations).sort().at(-1) };
      if (globals(cmd).json) printJson(result);
      else process.stdout.write(`keel migrate: ${target} schema is up to date (${result.migrations} migrations, latest ${result.latest})\n`);
    });
}
