/** `keel compliance report`: the evidence a SOC 2 auditor asks for, as Markdown or JSON. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { time } from '../args.js';
import { clientOf, globals } from '../context.js';

export function registerCompliance(program: Command): void {
  const compliance = program.command('compliance').description('Compliance evidence (SOC 2 style)');
  compliance
    .command('report')
    .description('Access review, audit chain, encryption, backups, SLOs and incidents for a period (Markdown, or JSON with --json)')
    .option('--md', 'Markdown (the default)')
    .option('--since <time>', 'start of the period: a date, RFC 3339, epoch ms, now-24h or a duration back (30d)', time, '30d')
    .option('--until <time>', 'end of the period (default now)', time)
    .option('--tenant <tenant>', 'one tenant (admins of the system tenant; default all)')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (opts: { md?: boolean; since: string; until?: string; tenant?: string; output?: string }, cmd: Command) => {
      const json = Boolean(globals(cmd).json) && !opts.md;
      const res = await clientOf(cmd).call<unknown>('GET', '/v1/compliance/report', {
        query: { since: opts.since, until: opts.until, tenant: opts.tenant, format: json ? 'json' : 'md' },
      });
      const text = json ? `${JSON.stringify(res, null, 2)}\n` : String(res);
      if (opts.output) {
        writeFileSync(opts.output, text);
        process.stderr.write(`report written to ${opts.output}\n`);
      } else process.stdout.write(text);
    });
}
