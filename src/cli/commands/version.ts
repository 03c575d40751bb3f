/** `keel version`: version, commit and build date of this Keel (no server needed). */
import type { Command } from 'commander';
import { buildInfo } from '../../runtime/build-info.js';
import { globals } from '../context.js';
import { printJson } from '../output.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Print the version, commit and build date of this Keel')
    .addHelpText('after', '\nExamples:\n  keel version\n  keel version --json     # {"version","commit","buildDate","node"}\n\nExit code: 0.')
    .action((_opts: unknown, cmd: Command) => {
      const info = buildInfo();
      if (globals(cmd).json) printJson(info);
      else process.stdout.write(`keel ${info.version} (commit ${info.commit}, built ${info.buildDate}, node ${info.node})\n`);
    });
}
