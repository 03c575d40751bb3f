/**
 * `keel admin …`: what the operator of the machine that holds the data dir can do without an API
 * key (offline, straight on the embedded data dir). `create-key` is the way back in when the admin
 * key is lost.
 */
import type { Command } from 'commander';
import { UsageError } from '../args.js';
import { globals } from '../context.js';
import { printJson } from '../output.js';

interface CreateKeyOpts {
  dataDir?: string;
  tenant: string;
  name: string;
  scopes: string;
}

export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('Administration on the machine that holds the data dir (no API key needed; works while Keel is stopped)');
  admin
    .command('create-key')
    .description('Mint a new API key straight in the data dir, recorded in the audit log: the way back in when the admin key is lost')
    .option('-d, --data-dir <dir>', 'data directory of the embedded Keel (env KEEL_DATA_DIR)')
    .option('-t, --tenant <tenant>', 'tenant the key belongs to', 'default')
    .option('-n, --name <name>', 'name of the key', 'admin (keel admin create-key)')
    .option('-s, --scopes <scopes>', 'comma-separated scopes: admin, ingest, read', 'admin')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  keel admin create-key --data-dir /var/lib/keel',
        '  keel admin create-key --data-dir ./keel-data --tenant acme --name ci --scopes ingest --json',
        '',
        "Needs read and write access to the data dir (0700: Keel's own user or root), so only the",
        'operator of this machine can run it. The key is printed once; the audit log records a',
        '"keys.create" entry by local:<os user>@<host>. Works whether Keel is running or not.',
      ].join('\n'),
    )
    .action(async (opts: CreateKeyOpts, cmd: Command) => {
      const { createLocalKey } = await import('../../runtime/local-admin-key.js');
      const dataDir = opts.dataDir ?? process.env.KEEL_DATA_DIR;
      if (!dataDir) throw new UsageError('--data-dir is required (or set KEEL_DATA_DIR)');
      const scopes = opts.scopes
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const created = await createLocalKey({ dataDir, tenant: opts.tenant, name: opts.name, scopes });
      if (globals(cmd).json) return printJson(created);
      process.stdout.write(
        `Created API key ${created.id} (${created.scopes.join(',')}) for tenant "${created.tenant}"; audit entry #${created.audit_seq}. It is shown once; store it now:\n\n    ${created.key}\n\n`,
      );
    });
}
