/** `keel sso list|set|remove`: OpenID Connect providers people sign in with. */
import type { Command } from 'commander';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';
import { readStdinSecret } from '../read-secret.js';

export function registerSso(program: Command): void {
  const sso = program.command('sso').description('Single sign-on (OpenID Connect) providers; admins of the system tenant');

  sso
    .command('list')
    .description('List providers (client secrets are never shown)')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<{ providers: Record<string, unknown>[] }>('GET', '/v1/sso/providers');
      if (globals(cmd).json) return printJson(res);
      printTable(res.providers, ['id', 'issuer', 'client_id', 'client_secret_set', 'default_team', 'default_role', 'redirect_uri']);
    });

  sso
    .command('set')
    .description('Add or change a provider; register its redirect_uri (printed) with the provider')
    .argument('<id>', 'short name, e.g. okta')
    .requiredOption('--issuer <url>', 'issuer URL (its /.well-known/openid-configuration is read)')
    .requiredOption('--client-id <id>', 'client id registered at the provider')
    .option('--client-secret-stdin', 'read the client secret from standard input (stored sealed)')
    .option('--no-client-secret', 'a public client (PKCE only)')
    .requiredOption('--default-team <team>', 'team new people join on first sign-in')
    .option('--default-role <role>', 'their role there', 'viewer')
    .option('--scopes <scopes>', 'OAuth scopes', 'openid email profile')
    .option('--display-name <name>', 'name on the sign-in page')
    .action(
      async (
        id: string,
        opts: { issuer: string; clientId: string; clientSecretStdin?: boolean; clientSecret: boolean; defaultTeam: string; defaultRole: string; scopes: string; displayName?: string },
        cmd: Command,
      ) => {
        const secret = opts.clientSecretStdin ? await readStdinSecret() : opts.clientSecret === false ? null : undefined;
        const res = await clientOf(cmd).call<{ redirect_uri: string }>('PUT', `/v1/sso/providers/${encodeURIComponent(id)}`, {
          body: {
            issuer: opts.issuer,
            client_id: opts.clientId,
            default_team: opts.defaultTeam,
            default_role: opts.defaultRole,
            scopes: opts.scopes,
            ...(opts.displayName ? { display_name: opts.displayName } : {}),
            ...(secret !== undefined ? { client_secret: secret } : {}),
          },
        });
        if (globals(cmd).json) return printJson(res);
        process.stdout.write(`provider ${id} saved; its redirect URI: ${res.redirect_uri}\n`);
      },
    );

  sso
    .command('remove')
    .description('Remove a provider')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call('DELETE', `/v1/sso/providers/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`removed provider ${id}\n`);
    });
}
