/** `keel keys create|list|revoke`. */
import type { Command } from 'commander';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';
import type { CreatedKeyAnswer, KeyListAnswer, KeyViewAnswer } from '../../auth/schemas.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('Create, list and revoke API keys');

  keys
    .command('create')
    .description('Create an API key; it is printed once and never again')
    .option('-t, --tenant <tenant>', 'tenant the key belongs to (default: the tenant of your key); created if new')
    .requiredOption(
      '-s, --scopes <scopes>',
      'comma-separated scopes: ingest, read, respond, write, admin (read, respond, write and admin hold what the viewer, responder, editor and admin roles hold)',
    )
    .option('-n, --name <name>', 'a name to recognise the key by')
    .action(async (opts: { tenant?: string; scopes: string; name?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<CreatedKeyAnswer>('POST', '/v1/keys', {
        body: {
          ...(opts.tenant ? { tenant: opts.tenant } : {}),
          scopes: opts.scopes
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          ...(opts.name ? { name: opts.name } : {}),
        },
      });
      if (globals(cmd).json) return printJson(res);
      if (res.tenant_created) process.stderr.write(`created tenant "${res.tenant}"\n`);
      process.stderr.write(`API key ${res.id} for tenant "${res.tenant}" with scopes ${res.scopes.join(',')}. Shown once:\n`);
      process.stdout.write(`${res.key}\n`);
    });

  keys
    .command('list')
    .description('List API keys (prefixes only; keys themselves are never shown again)')
    .option('-t, --tenant <tenant>', 'only keys of this tenant')
    .option('--all', 'include revoked keys')
    .action(async (opts: { tenant?: string; all?: boolean }, cmd: Command) => {
      const res = await clientOf(cmd).call<KeyListAnswer>('GET', '/v1/keys', {
        query: { tenant: opts.tenant, include_revoked: opts.all ? 'true' : undefined },
      });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.keys.map((k) => ({ ...k, prefix: `${k.prefix}…` })),
        ['id', 'tenant', 'prefix', 'scopes', 'name', 'created_at', 'last_used_at', 'revoked_at'],
      );
    });

  keys
    .command('revoke')
    .description('Revoke an API key; requests with it are refused from now on')
    .argument('<id>', 'key id (from keys list)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<KeyViewAnswer>('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`revoked ${res.id} (${res.prefix}…) of tenant "${res.tenant}"\n`);
    });
}
