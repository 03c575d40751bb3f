/** `keel users add|list|show|set-role|disable|enable|remove|set-password`. */
import type { Command } from 'commander';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';
import { readStdinSecret } from '../read-secret.js';
import type { AddedUserAnswer, UserListAnswer, UserViewAnswer } from '../../auth/schemas.js';

const ROLES = 'viewer, responder, editor or admin';

const path = (u: string) => `/v1/users/${encodeURIComponent(u)}`;

export function registerUsers(program: Command): void {
  const users = program.command('users').description('People of a team and their roles (viewer, responder, editor, admin)');

  users
    .command('add')
    .description('Add a person to a team with a role (creates the user if new)')
    .argument('<email>')
    .requiredOption('-r, --role <role>', ROLES)
    .option('-n, --name <name>', 'display name (default: the part before @)')
    .option('-t, --team <team>', 'team (tenant); default: the team of your key')
    .option('--time-zone <tz>', 'IANA time zone, e.g. Europe/Berlin')
    .option('--password-stdin', 'read an initial password from standard input')
    .action(async (email: string, opts: { role: string; name?: string; team?: string; timeZone?: string; passwordStdin?: boolean }, cmd: Command) => {
      const password = opts.passwordStdin ? await readStdinSecret() : undefined;
      const res = await clientOf(cmd).call<AddedUserAnswer>('POST', '/v1/users', {
        body: {
          email,
          name: opts.name ?? email.split('@')[0],
          role: opts.role,
          ...(opts.team ? { team: opts.team } : {}),
          ...(opts.timeZone ? { time_zone: opts.timeZone } : {}),
          ...(password ? { password } : {}),
        },
      });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`added ${res.email} (${res.id}) as ${res.role}${password ? ', password set' : ''}\n`);
    });

  users
    .command('list')
    .description('List the members of a team with roles and last sign-in')
    .option('-t, --team <team>', 'team (admins of the system tenant may name any)')
    .action(async (opts: { team?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<UserListAnswer>('GET', '/v1/users', { query: { team: opts.team } });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.users.map((u) => ({ ...u, sign_in: u.has_password ? 'password' : 'sso', last_sign_in: u.last_sign_in_at ? `${u.last_sign_in_at} (${u.last_sign_in_method})` : null })),
        ['email', 'name', 'role', 'disabled', 'sign_in', 'last_sign_in', 'id'],
      );
    });

  users
    .command('show')
    .description('Show one member')
    .argument('<user>', 'email or id')
    .action(async (user: string, _opts: unknown, cmd: Command) => {
      printJson(await clientOf(cmd).call('GET', path(user)));
    });

  users
    .command('set-role')
    .description('Change a member’s role in the team')
    .argument('<user>', 'email or id')
    .argument('<role>', ROLES)
    .option('-t, --team <team>', 'team (default: the team of your key)')
    .action(async (user: string, role: string, opts: { team?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<UserViewAnswer>('PATCH', path(user), { body: { role, ...(opts.team ? { team: opts.team } : {}) } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`${res.email} is now ${res.role}\n`);
    });

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(name)
      .description(disabled ? 'Disable a user: signed out everywhere, no sign-in, no pages' : 'Enable a disabled user again')
      .argument('<user>', 'email or id')
      .action(async (user: string, _opts: unknown, cmd: Command) => {
        const res = await clientOf(cmd).call<UserViewAnswer>('PATCH', path(user), { body: { disabled } });
        if (globals(cmd).json) return printJson(res);
        process.stdout.write(`${res.email} ${disabled ? 'disabled' : 'enabled'}\n`);
      });
  }

  users
    .command('remove')
    .description('Remove a member from the team')
    .argument('<user>', 'email or id')
    .option('-t, --team <team>', 'team (default: the team of your key)')
    .action(async (user: string, opts: { team?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<{ email: string; team: string }>('DELETE', path(user), { query: { team: opts.team } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`removed ${res.email} from ${res.team}\n`);
    });

  users
    .command('set-password')
    .description('Set a user’s password from standard input (signs them out everywhere)')
    .argument('<user>', 'email or id')
    .action(async (user: string, _opts: unknown, cmd: Command) => {
      const password = await readStdinSecret();
      const res = await clientOf(cmd).call<{ email: string }>('PUT', `${path(user)}/password`, { body: { password } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`password set for ${res.email}\n`);
    });
}
