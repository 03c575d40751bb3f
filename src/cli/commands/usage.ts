/** `keel usage`: events and bytes received per tenant. */
import type { Command } from 'commander';
import { time } from '../args.js';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';

interface UsageAnswer {
  from: string;
  to: string;
  step: string;
  usage: { tenant: string; start: string; events: number; bytes: number }[];
  totals: { tenant: string; events: number; bytes: number }[];
}

export function registerUsage(program: Command): void {
  program
    .command('usage')
    .description('Events and bytes Keel received per tenant, per minute, hour or day (counted exactly once from the event log)')
    .option('--from <time>', 'start, a date, RFC 3339, epoch ms, 7d or now-1h (default: one hour before --to)', time)
    .option('--to <time>', 'end, a date, RFC 3339, epoch ms, 7d or now-1h (default: now)', time)
    .option('--step <step>', 'bucket size: minute, hour or day', 'minute')
    .option('-t, --tenant <tenant>', 'one tenant (system admins see all tenants without it)')
    .option('--totals', 'print only the totals per tenant')
    .action(async (opts: { from?: string; to?: string; step: string; tenant?: string; totals?: boolean }, cmd: Command) => {
      const res = await clientOf(cmd).call<UsageAnswer>('GET', '/v1/usage', {
        query: { from: opts.from, to: opts.to, step: opts.step, tenant: opts.tenant },
      });
      if (globals(cmd).json) return printJson(opts.totals ? { from: res.from, to: res.to, totals: res.totals } : res);
      process.stdout.write(`usage from ${res.from} to ${res.to}, per ${res.step}\n`);
      if (!opts.totals) printTable(res.usage, ['tenant', 'start', 'events', 'bytes']);
      process.stdout.write('\ntotals\n');
      printTable(res.totals, ['tenant', 'events', 'bytes']);
    });
}
