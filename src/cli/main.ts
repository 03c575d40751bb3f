/** The `keel` command line. */
import { Command, CommanderError } from 'commander';
import { KeelError } from '../core/errors.js';
import { VERSION } from '../runtime/version.js';
import { UsageError } from './args.js';
import { ApiError, EXIT, UnreachableError } from './client.js';
import { registerBench } from './commands/bench.js';
import { HandledError, registerDefinitions } from './commands/definitions.js';
import { registerDoctor } from './commands/doctor.js';
import { registerEvents } from './commands/events.js';
import { registerKeys } from './commands/keys.js';
import { registerSlo } from './commands/slo.js';
import { registerPaging } from './commands/paging.js';
import { registerStart } from './commands/start.js';
import { registerTenants } from './commands/tenants.js';
import { registerAdmin } from './commands/admin.js';
import { registerAudit } from './commands/audit.js';
import { registerBackup } from './commands/backup.js';
import { registerCompliance } from './commands/compliance.js';
import { registerSecrets } from './commands/secrets.js';
import { registerSso } from './commands/sso.js';
import { registerUsers } from './commands/users.js';
import { registerUsage } from './commands/usage.js';
import { registerCapacity } from './commands/capacity.js';
import { registerRunbooks } from './commands/runbooks.js';
import { registerCompletion } from './commands/completion.js';
import { registerDemo } from './commands/demo.js';
import { addExamples } from './examples.js';
import { registerMigrate } from './commands/migrate.js';
import { registerVersion } from './commands/version.js';
import { registerVerify } from './commands/verify.js';

export function buildProgram(): Command {
  const program = new Command('keel')
    .description('Keel: durable event ingest, SLOs, paging and incidents, self-hosted.')
    .version(VERSION)
    // Environment values are read when used, not shown as defaults: --help must never print a key.
    .option('--url <url>', 'Keel server URL (env KEEL_URL, default http://127.0.0.1:7070)')
    .option('--api-key <key>', 'API key (env KEEL_API_KEY)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', '\nExit codes: 0 success, 1 the request or command failed, 2 invalid usage, 3 Keel unreachable.');
  registerStart(program);
  registerKeys(program);
  registerTenants(program);
  registerEvents(program);
  registerDefinitions(program);
  registerUsers(program);
  registerAudit(program);
  registerSecrets(program);
  registerSso(program);
  registerBackup(program);
  registerAdmin(program);
  registerCompliance(program);
  registerSlo(program);
  registerPaging(program);
  registerUsage(program);
  registerCapacity(program);
  registerRunbooks(program);
  registerDoctor(program);
  registerVerify(program);
  registerBench(program);
  registerDemo(program);
  registerMigrate(program);
  registerVersion(program);
  registerCompletion(program);
  addExamples(program);
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const c of program.commands) c.exitOverride();
  return program;
}

function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride();
  for (const c of cmd.commands) exitOverrideAll(c);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  exitOverrideAll(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof HandledError) return e.exitCode;
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof ApiError) {
      process.stderr.write(`error: ${e.message} (${e.status} ${e.code})\n`);
      return EXIT.failed;
    }
    if (e instanceof UnreachableError) {
      process.stderr.write(`error: ${e.message}\n`);
      return EXIT.unreachable;
    }
    if (e instanceof KeelError) {
      process.stderr.write(`error: ${e.message}\n`);
      return e.status < 500 ? EXIT.usage : EXIT.failed;
    }
    const file = fileError(e);
    if (file) {
      process.stderr.write(`error: ${file}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return EXIT.failed;
  }
}

/** A file named on the command line that cannot be read: one clear line, not a raw `ENOENT`. */
function fileError(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err.code !== 'string' || typeof err.path !== 'string') return undefined;
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory, expected a file',
    ENOTDIR: 'a part of the path is not a directory',
    EEXIST: 'already exists',
  };
  return why[err.code] ? `${err.path}: ${why[err.code]}` : undefined;
}
