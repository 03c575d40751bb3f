/** `keel backup <file>` (online, through the API) and `keel restore <file> --data-dir <dir>` (offline). */
import { existsSync, renameSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { sha256File } from '../../backup/container.js';
import { clientOf, globals } from '../context.js';
import { printJson, progress, progressDone } from '../output.js';

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** Progress at most twice a second, so a large backup prints a few lines, not one per chunk. */
function throttled(fn: (...a: number[]) => void): (...a: number[]) => void {
  let last = 0;
  return (...a) => {
    const now = Date.now();
    if (now - last < 500) return;
    last = now;
    fn(...a);
  };
}

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('Back up a running embedded Keel (state and event log, SQLite online backup) into one file')
    .argument('<file>', 'the backup file to write (must not exist)')
    .addHelpText('after', '\nThe secret key that seals stored secrets is NOT in the backup: keep it (KEEL_SECRET_KEY or <data-dir>/secret.key) apart from the backups.')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      if (existsSync(file)) throw new Error(`${file} already exists; choose a new file name`);
      const partial = `${file}.partial`;
      const t0 = Date.now();
      let headers;
      try {
        headers = await clientOf(cmd).download(
          'POST',
          '/v1/backups',
          partial,
          throttled((n) => progress(`received ${mb(n)}`)),
        );
        progressDone();
        const expected = String(headers['x-keel-backup-sha256'] ?? '');
        const got = await sha256File(partial);
        if (expected && got !== expected) throw new Error(`the backup arrived damaged (sha256 ${got}, server said ${expected}); try again`);
        renameSync(partial, file);
      } catch (e) {
        rmSync(partial, { force: true });
        throw e;
      }
      const summary = { file, id: headers['x-keel-backup-id'], bytes: Number(headers['content-length']), sha256: headers['x-keel-backup-sha256'], seconds: (Date.now() - t0) / 1000 };
      if (globals(cmd).json) return printJson(summary);
      process.stdout.write(`backup ${summary.id} written to ${file} (${mb(summary.bytes)}, sha256 ${summary.sha256}) in ${summary.seconds.toFixed(1)} s\n`);
    });

  program
    .command('restore')
    .description('Restore a backup into a new data dir (offline; then `keel start --data-dir <dir>`)')
    .argument('<file>', 'a file written by `keel backup`')
    .requiredOption('-d, --data-dir <dir>', 'where to restore; must be new or empty')
    .option('--secret-key-file <file>', 'the key file of the Keel that was backed up, copied to <data-dir>/secret.key')
    .action(async (file: string, opts: { dataDir: string; secretKeyFile?: string }, cmd: Command) => {
      const { restoreBackup } = await import('../../backup/restore.js');
      const r = await restoreBackup(file, opts.dataDir, {
        ...(opts.secretKeyFile ? { secretKeyFile: opts.secretKeyFile } : {}),
        onProgress: throttled((done, total) => progress(`restored ${mb(done)} of ${mb(total!)}`)),
      });
      progressDone();
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      if (globals(cmd).json) return printJson(r);
      process.stdout.write(
        `restored the backup of ${r.manifest.created_at} (${r.manifest.files.map((f) => `${f.name} ${mb(f.bytes)}`).join(', ')}) into ${r.dataDir}; secret key ${r.secretKey}.\nStart it with: keel start --data-dir ${r.dataDir}\n`,
      );
    });
}
