/**
 * `keel oncall`, `keel silences`, `keel integrations`, `keel heartbeats`, `keel paging`: on-call,
 * suppression, alert sources and paging settings. Configuration itself (users, schedules,
 * policies, routes) is YAML through `keel apply -f`.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseDurationMs } from '../../core/time.js';
import { parseTimeInput } from '../../core/time-input.js';
import { KeelClient } from '../client.js';
import { UsageError, port, positiveInt, time } from '../args.js';
import { answer, clientOf, globals } from '../context.js';
import { printFields, printJson, printTable } from '../output.js';
import { readStdinValue } from '../read-secret.js';
import type { CreatedIntegrationAnswer, HeartbeatAnswer, HeartbeatListAnswer, IntegrationKeyAnswer, IntegrationListAnswer } from '../../paging/integrations/schemas.js';
import type { PeopleAnswer, SecretListAnswer, SmtpViewAnswer, StoredSecretAnswer } from '../../paging/notify/schemas.js';
import type { OncallNowAnswer, OverrideAnswer, OverrideListAnswer, PersonAnswer, ScheduleShiftsAnswer } from '../../paging/oncall/schemas.js';
import type { PagingAlertListAnswer } from '../../paging/routing/schemas.js';
import { registerIncidents } from './incidents.js';

// Answer types come from the routes' response schemas (src/paging/*/schemas.ts).
/** A person as answers name them; an override's person who left the tenant is only a user id. */
const who = (p: PersonAnswer | { user_id: string } | null | undefined) => (!p ? '(nobody)' : 'email' in p ? `${p.name} <${p.email}>` : p.user_id);

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function registerOncall(program: Command): void {
  const oncall = program.command('oncall').description('Who is on call, shifts, overrides, calendar feeds');

  oncall
    .command('now')
    .description('Who is on call now in every schedule (or one)')
    .option('-s, --schedule <schedule>', 'only this schedule')
    .option('--at <time>', 'at this time instead of now (a date, RFC 3339, 7d or now-1h)', time)
    .action(async (opts: { schedule?: string; at?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<OncallNowAnswer>('GET', '/v1/oncall', { query: { schedule: opts.schedule, at: opts.at } });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.oncall.map((o) => ({ schedule: o.schedule, on_call: who(o.on_call), via: o.source, until: o.until, next: o.next ? `${o.next.user.name} at ${o.next.start}` : null })),
        ['schedule', 'on_call', 'via', 'until', 'next'],
      );
    });

  oncall
    .command('shifts')
    .description('Shifts of a schedule in a range (default: the next 7 days)')
    .argument('<schedule>')
    .option('--at <time>', 'start (a date, RFC 3339 or now+1h; default now)', time)
    .option('--until <time>', 'end (a date, RFC 3339 or now+1h; default 7 days after start)', time)
    .action(async (schedule: string, opts: { at?: string; until?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<ScheduleShiftsAnswer>('GET', `/v1/schedules/${encodeURIComponent(schedule)}/oncall`, { query: { at: opts.at, until: opts.until } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`schedule ${schedule} (${res.time_zone})\n`);
      printTable(
        res.shifts.map((s) => ({ start: s.start, end: s.end, user: who(s.user), via: s.source })),
        ['start', 'end', 'user', 'via'],
      );
      if (res.gaps.length) process.stdout.write(`\nnobody on call: ${res.gaps.map((g) => `${g.start} to ${g.end}`).join(', ')}\n`);
    });

  const override = oncall.command('override').description('Overrides: someone covers part of a schedule');
  override
    .command('add')
    .description('Add an override (wins over every layer)')
    .argument('<schedule>')
    .requiredOption('-u, --user <user>', 'who covers (User name, email or id)')
    .requiredOption('--start <time>', 'a date, RFC 3339 or now+1h', time)
    .requiredOption('--end <time>', 'a date, RFC 3339 or now+1h', time)
    .action(async (schedule: string, opts: { user: string; start: string; end: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<OverrideAnswer>('POST', `/v1/schedules/${encodeURIComponent(schedule)}/overrides`, { body: opts });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`override ${res.id}: ${who(res.user)} on call in ${schedule} from ${res.start} to ${res.end}\n`);
    });
  override
    .command('list')
    .description('List current and future overrides of a schedule')
    .argument('<schedule>')
    .option('--all', 'past ones too')
    .action(async (schedule: string, opts: { all?: boolean }, cmd: Command) => {
      const res = await clientOf(cmd).call<OverrideListAnswer>('GET', `/v1/schedules/${encodeURIComponent(schedule)}/overrides`, { query: { all: opts.all ? 'true' : undefined } });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.overrides.map((o) => ({ ...o, user: who(o.user) })),
        ['id', 'user', 'start', 'end', 'created_by'],
      );
    });
  override
    .command('remove')
    .description('Remove an override')
    .argument('<schedule>')
    .argument('<id>')
    .action(async (schedule: string, id: string, _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call('DELETE', `/v1/schedules/${encodeURIComponent(schedule)}/overrides/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`removed override ${id}\n`);
    });

  oncall
    .command('feed')
    .description('Create an iCalendar feed URL (with a token) for a schedule or a person; shown once')
    .option('-s, --schedule <schedule>')
    .option('-u, --user <user>', 'User name, email or id')
    .action(async (opts: { schedule?: string; user?: string }, cmd: Command) => {
      if (Boolean(opts.schedule) === Boolean(opts.user)) throw new UsageError('give either --schedule or --user');
      const url = opts.schedule ? `/v1/schedules/${encodeURIComponent(opts.schedule)}/ical-feeds` : `/v1/oncall/users/${encodeURIComponent(opts.user!)}/ical-feeds`;
      const res = await clientOf(cmd).call<{ id: string; url: string }>('POST', url);
      if (globals(cmd).json) return printJson(res);
      process.stderr.write(`feed ${res.id}; subscribe your calendar to (shown once):\n`);
      process.stdout.write(`${res.url}\n`);
    });
}

function registerSilences(program: Command): void {
  const silences = program.command('silences').description('Silences: suppress notifications for matching alerts (alerts are still recorded)');
  silences
    .command('create')
    .description('Silence alerts matching every --matcher for a while')
    .requiredOption('-m, --matcher <matcher>', 'label matcher, e.g. alertname="DiskFull" or env=~"dev|test" (repeatable)', collect, [])
    .option('-d, --duration <duration>', 'how long, from now or --start (e.g. 2h)', '1h')
    .option('--start <time>', 'a date, RFC 3339 or now+1h (default now)', time)
    .option('--end <time>', 'a date, RFC 3339 or now+1h (instead of --duration)', time)
    .requiredOption('-c, --comment <text>', 'why')
    .option('-a, --author <name>', 'who (default: $USER)')
    .option('-n, --name <name>', 'name (default: generated)')
    .action(async (opts: { matcher: string[]; duration: string; start?: string; end?: string; comment: string; author?: string; name?: string }, cmd: Command) => {
      // --start and --end were checked by the option parser; a silence's times are absolute.
      const now = Date.now();
      const start = opts.start ? parseTimeInput(opts.start, now) : now;
      const ms = parseDurationMs(opts.duration);
      if (!opts.end && !Number.isFinite(ms)) throw new UsageError(`--duration: "${opts.duration}" is not a duration (e.g. 30m, 2h)`);
      const end = opts.end ? parseTimeInput(opts.end, now) : start + ms;
      const res = await clientOf(cmd).call<{ name: string; spec: { startsAt: string; endsAt: string } }>('POST', '/v1/silences', {
        body: {
          ...(opts.name ? { name: opts.name } : {}),
          spec: {
            matchers: opts.matcher,
            startsAt: new Date(start).toISOString(),
            endsAt: new Date(end).toISOString(),
            createdBy: opts.author ?? process.env.USER ?? 'keel-cli',
            comment: opts.comment,
          },
        },
      });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`silence ${res.name} from ${res.spec.startsAt} to ${res.spec.endsAt}\n`);
    });
  silences
    .command('list')
    .description('List silences')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<{ items: { name: string; spec: { matchers: string[]; startsAt: string; endsAt: string; createdBy: string; comment: string } }[] }>('GET', '/v1/silences');
      if (globals(cmd).json) return printJson(res);
      const now = Date.now();
      printTable(
        res.items.map((s) => ({
          name: s.name,
          state: Date.parse(s.spec.endsAt) <= now ? 'expired' : Date.parse(s.spec.startsAt) > now ? 'pending' : 'active',
          matchers: s.spec.matchers.join(' '),
          ends: s.spec.endsAt,
          by: s.spec.createdBy,
          comment: s.spec.comment,
        })),
        ['name', 'state', 'matchers', 'ends', 'by', 'comment'],
      );
    });
  silences
    .command('expire')
    .description('Remove a silence')
    .argument('<name>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call('DELETE', `/v1/silences/${encodeURIComponent(name)}`);
      answer(cmd, res ?? { name, removed: true }, () => process.stdout.write(`silence ${name} removed\n`));
    });
}

function registerIntegrations(program: Command): void {
  const integrations = program.command('integrations').description('Integration keys for Alertmanager, PagerDuty Events v2 senders and heartbeats');
  integrations
    .command('create')
    .description('Create an integration key; it is printed once')
    .requiredOption('-t, --type <type>', 'alertmanager, events-v2 or heartbeat')
    .option('-s, --service <service>', 'the service its alerts belong to (default: placed by Routes)')
    .option('-n, --name <name>', 'a name to recognise it by')
    .action(async (opts: { type: string; service?: string; name?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<CreatedIntegrationAnswer>('POST', '/v1/integrations', { body: opts });
      if (globals(cmd).json) return printJson(res);
      process.stderr.write(`integration ${res.id} (${res.type}${res.service ? `, service ${res.service}` : ''}); send to ${res.endpoint}. Key, shown once:\n`);
      process.stdout.write(`${res.key}\n`);
    });
  integrations
    .command('list')
    .description('List integration keys (prefixes only)')
    .option('-s, --service <service>')
    .option('--all', 'include revoked keys')
    .action(async (opts: { service?: string; all?: boolean }, cmd: Command) => {
      const res = await clientOf(cmd).call<IntegrationListAnswer>('GET', '/v1/integrations', { query: { service: opts.service, include_revoked: opts.all ? 'true' : undefined } });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.integrations.map((k) => ({ ...k, prefix: `${k.prefix}…` })),
        ['id', 'type', 'service', 'name', 'prefix', 'last_used_at', 'revoked_at'],
      );
    });
  integrations
    .command('revoke')
    .description('Revoke an integration key')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<IntegrationKeyAnswer>('DELETE', `/v1/integrations/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`revoked ${res.id}\n`);
    });
}

function registerHeartbeats(program: Command): void {
  const hb = program.command('heartbeats').description('Heartbeats (dead-man’s switches): state, and pinging');
  hb.command('list')
    .description('Heartbeats with their state, last ping and deadline')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<HeartbeatListAnswer>('GET', '/v1/heartbeats');
      if (globals(cmd).json) return printJson(res);
      printTable(res.heartbeats, ['name', 'service', 'status', 'last_ping_at', 'due_at']);
    });
  hb.command('ping')
    .description('Ping a heartbeat with an integration key (for scripts and cron jobs)')
    .argument('<name>')
    .option('-k, --key <key>', 'heartbeat integration key (env KEEL_HEARTBEAT_KEY)')
    .action(async (name: string, opts: { key?: string }, cmd: Command) => {
      // Read when used, never shown as a default: --help must not print a key.
      const key = opts.key ?? process.env.KEEL_HEARTBEAT_KEY;
      if (!key) throw new UsageError('give --key or set KEEL_HEARTBEAT_KEY');
      const res = await new KeelClient({ url: globals(cmd).url, apiKey: key }).call<HeartbeatAnswer>('POST', `/v1/heartbeats/${encodeURIComponent(name)}`);
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`pinged ${res.name}; next ping due by ${res.due_at}\n`);
    });
}

function registerPagingSettings(program: Command): void {
  const paging = program.command('paging').description('Paging settings: secrets, SMTP, people, alerts, routing dry runs');

  const secret = paging.command('secret').description('Secrets referenced by contact methods and channels (stored sealed; never shown)');
  secret
    .command('set')
    .description('Store a secret (value from --value, --from-file, or standard input)')
    .argument('<name>')
    .option('--value <value>', 'the value (visible in shell history; prefer standard input)')
    .option('--from-file <file>', 'read the value from a file')
    .action(async (name: string, opts: { value?: string; fromFile?: string }, cmd: Command) => {
      const value = opts.value ?? (opts.fromFile ? readFileSync(opts.fromFile, 'utf8').replace(/\r?\n$/, '') : await readStdinValue());
      if (!value) throw new UsageError('the secret value is empty');
      const res = await clientOf(cmd).call<StoredSecretAnswer>('POST', '/v1/paging/secrets', { body: { name, value } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`secret ${res.name} ${res.created ? 'stored' : 'replaced'}\n`);
    });
  secret
    .command('list')
    .description('Names of stored secrets')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<SecretListAnswer>('GET', '/v1/paging/secrets');
      if (globals(cmd).json) return printJson(res);
      printTable(res.secrets, ['name', 'updated_at', 'updated_by']);
    });
  secret
    .command('delete')
    .description('Delete a secret')
    .argument('<name>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call('DELETE', `/v1/paging/secrets/${encodeURIComponent(name)}`);
      answer(cmd, res ?? { name, deleted: true }, () => process.stdout.write(`secret ${name} deleted\n`));
    });

  const smtp = paging.command('smtp').description('The SMTP server email notifications go through');
  smtp
    .command('set')
    .description('Set the SMTP server (password from --password-stdin)')
    .requiredOption('--host <host>')
    .option('--port <port>', 'default 587', port, 587)
    .option('--secure', 'TLS from the first byte (port 465)')
    .option('--require-tls', 'refuse to send without TLS')
    .option('--user <user>')
    .option('--password-stdin', 'read the password from standard input')
    .requiredOption('--from <address>', 'sender, e.g. "Keel <keel@example.com>"')
    .action(async (opts: { host: string; port: number; secure?: boolean; requireTls?: boolean; user?: string; passwordStdin?: boolean; from: string }, cmd: Command) => {
      const password = opts.passwordStdin ? await readStdinValue() : undefined;
      const res = await clientOf(cmd).call('PUT', '/v1/paging/smtp', {
        body: {
          host: opts.host,
          port: opts.port,
          secure: Boolean(opts.secure),
          requireTls: Boolean(opts.requireTls),
          from: opts.from,
          ...(opts.user ? { user: opts.user } : {}),
          ...(password !== undefined ? { password } : {}),
        },
      });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`SMTP set: ${opts.host}:${opts.port}\n`);
    });
  smtp
    .command('show')
    .description('Show the SMTP settings (never the password)')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<SmtpViewAnswer>('GET', '/v1/paging/smtp');
      answer(cmd, res, () => printFields(res));
    });

  paging
    .command('people')
    .description('People who can be paged, with contact methods and notification rules')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<PeopleAnswer>('GET', '/v1/paging/people');
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.people.map((p) => ({ ...p, contact_methods: p.contact_methods.map((c) => `${c.name}(${c.type})`) })),
        ['handle', 'name', 'email', 'contact_methods'],
      );
    });

  paging
    .command('alerts')
    .description('Recent alerts and what paging did with them')
    .option('-s, --status <status>', 'firing or resolved')
    .option('-n, --limit <n>', 'at most this many', positiveInt, 50)
    .action(async (opts: { status?: string; limit: number }, cmd: Command) => {
      const res = await clientOf(cmd).call<PagingAlertListAnswer>('GET', '/v1/paging/alerts', { query: { status: opts.status, limit: opts.limit } });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.alerts.map((a) => ({ ...a, service: a.paging?.service, incident: a.paging?.incident_id, suppressed: a.paging?.suppressed_by })),
        ['status', 'severity', 'summary', 'source', 'count', 'service', 'incident', 'suppressed', 'last_seen'],
      );
    });

  paging
    .command('route-test')
    .description('Dry run: where would an alert with these labels go, and would it page?')
    .option('-l, --label <k=v>', 'alert label (repeatable)', collect, [])
    .option('--service <service>', 'the service the source names, if any')
    .option('--severity <severity>', 'alert severity', 'critical')
    .action(async (opts: { label: string[]; service?: string; severity: string }, cmd: Command) => {
      const labels: Record<string, string> = {};
      for (const l of opts.label) {
        const i = l.indexOf('=');
        if (i <= 0) throw new UsageError(`--label "${l}": write name=value`);
        labels[l.slice(0, i)] = l.slice(i + 1);
      }
      const res = await clientOf(cmd).call<Record<string, unknown>>('POST', '/v1/paging/route-test', { body: { labels, severity: opts.severity, ...(opts.service ? { service: opts.service } : {}) } });
      answer(cmd, res, () => printFields(res));
    });
}

export function registerPaging(program: Command): void {
  registerIncidents(program);
  registerOncall(program);
  registerSilences(program);
  registerIntegrations(program);
  registerHeartbeats(program);
  registerPagingSettings(program);
}
