/** `keel tenants list|create|update`. */
import type { Command } from 'commander';
import { positiveNumber } from '../args.js';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';

export function registerTenants(program: Command): void {
  const tenants = program.command('tenants').description('List tenants and manage their ingest quotas');

  tenants
    .command('list')
    .description('List tenants with their quotas')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<{ tenants: Record<string, unknown>[] }>('GET', '/v1/tenants');
      if (globals(cmd).json) return printJson(res);
      printTable(res.tenants, ['id', 'events_per_second', 'burst', 'paused', 'created_at']);
    });

  tenants
    .command('create')
    .description('Create a tenant')
    .argument('<id>', 'tenant name')
    .option('--rate <eventsPerSecond>', 'ingest quota in events/s', positiveNumber)
    .option('--burst <events>', 'burst size in events', positiveNumber)
    .action(async (id: string, opts: { rate?: number; burst?: number }, cmd: Command) => {
      const res = await clientOf(cmd).call('POST', '/v1/tenants', {
        body: { id, ...(opts.rate ? { eventsPerSecond: opts.rate } : {}), ...(opts.burst ? { burst: opts.burst } : {}) },
      });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`created tenant "${id}"\n`);
    });

  tenants
    .command('update')
    .description('Change a tenant’s quota or pause/resume its ingest')
    .argument('<id>', 'tenant name')
    .option('--rate <eventsPerSecond>', 'ingest quota in events/s', positiveNumber)
    .option('--burst <events>', 'burst size in events', positiveNumber)
    .option('--default-quota', 'go back to the configured default quota')
    .option('--pause', 'refuse ingest for this tenant (429)')
    .option('--resume', 'accept ingest again')
    .action(async (id: string, opts: { rate?: number; burst?: number; defaultQuota?: boolean; pause?: boolean; resume?: boolean }, cmd: Command) => {
      const body: Record<string, unknown> = {};
      if (opts.defaultQuota) {
        body.eventsPerSecond = null;
        body.burst = null;
      }
      if (opts.rate) body.eventsPerSecond = opts.rate;
      if (opts.burst) body.burst = opts.burst;
      if (opts.pause) body.paused = true;
      if (opts.resume) body.paused = false;
      const res = await clientOf(cmd).call('PATCH', `/v1/tenants/${encodeURIComponent(id)}`, { body });
      if (globals(cmd).json) return printJson(res);
      printJson(res);
    });
}
