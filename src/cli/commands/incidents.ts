/** `keel incidents ...`: declare, list, show, respond, notes, roles, postmortem, action items, metrics. */
import { readFileSync, writeFileSync } from 'node:fs';
import { editInEditor } from '../editor.js';
import { Command, InvalidArgumentError } from 'commander';
import { formatDuration } from '../../paging/incidents/postmortem.js';
import type { ActionItemAnswer, IncidentAnswer, IncidentDetailAnswer, IncidentMetricsAnswer, TimelineEntryAnswer } from '../../paging/incidents/schemas.js';
import type { DeliveriesAnswer } from '../../paging/notify/schemas.js';
import { UsageError, positiveInt, time } from '../args.js';
import { ApiError } from '../client.js';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';

// The answers' types come from the routes' response schemas (src/paging/incidents/schemas.ts).
type IncidentView = IncidentAnswer;
type Detail = IncidentDetailAnswer;
type Entry = TimelineEntryAnswer;

const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'];

function severity(v: string): string {
  const s = v.toUpperCase();
  if (!SEVERITIES.includes(s)) throw new InvalidArgumentError('use SEV1, SEV2, SEV3 or SEV4');
  return s;
}

const path = (id: string, rest = '') => `/v1/incidents/${encodeURIComponent(id.replace(/^#/, ''))}${rest}`;

function printTimeline(entries: Entry[]): void {
  for (const e of entries) process.stdout.write(`${e.at}  ${e.type.padEnd(12)} ${e.message}  (${e.actor})\n`);
}

export function registerIncidents(program: Command): void {
  const incidents = program.command('incidents').description('Incidents: declare, respond (ack, resolve), notes, roles, postmortems, metrics');

  incidents
    .command('list')
    .description('List incidents (open ones by default)')
    .option('-s, --state <state>', 'open, all, or comma-separated states (triggered,acknowledged,mitigated,resolved,closed)', 'open')
    .option('--service <service>', 'only this service')
    .option('-n, --limit <n>', 'at most this many', positiveInt, 100)
    .action(async (opts: { state: string; service?: string; limit: number }, cmd: Command) => {
      const res = await clientOf(cmd).call<{ incidents: IncidentView[] }>('GET', '/v1/incidents', { query: { state: opts.state, service: opts.service, limit: opts.limit } });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.incidents.map((i) => ({ '#': i.number, ...i, paged: i.paged_nobody ? 'NOBODY' : '' })),
        ['#', 'severity', 'state', 'service', 'paged', 'title', 'opened_at', 'id'],
      );
      // Said below the table too: an incident nobody was paged for must not scroll by unnoticed.
      for (const i of res.incidents) if (i.paged_nobody) process.stdout.write(`PAGED NOBODY: #${i.number}: ${i.paged_nobody.reason}\n`);
    });

  incidents
    .command('waiting')
    .description('Triggered incidents that paged you (or --user), waiting for an acknowledgement')
    .option('--user <user>', 'this person (user id, email or handle); required with an API key')
    .addHelpText('after', '\nExamples:\n  keel incidents waiting\n  keel incidents waiting --user ann@example.com --json\n')
    .action(async (opts: { user?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<{ incidents: IncidentView[] }>('GET', '/v1/incidents/waiting-for-me', { query: { user: opts.user } });
      if (globals(cmd).json) return printJson(res);
      if (res.incidents.length === 0) return void process.stdout.write('Nothing is waiting for an acknowledgement.\n');
      printTable(
        res.incidents.map((i) => ({ '#': i.number, ...i })),
        ['#', 'severity', 'state', 'service', 'title', 'opened_at', 'id'],
      );
    });

  incidents
    .command('show')
    .description('Show an incident: state, roles, alerts, escalation, action items and timeline')
    .argument('<id>', 'incident number or id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = clientOf(cmd);
      const d = await client.call<Detail>('GET', path(id));
      const t = await client.call<{ timeline: Entry[] }>('GET', path(id, '/timeline'));
      if (globals(cmd).json) return printJson({ ...d, timeline: t.timeline });
      const out = process.stdout;
      out.write(`#${d.number} [${d.severity}] ${d.title}\n`);
      out.write(
        `state ${d.state}, service ${d.service ?? '-'}, opened ${d.opened_at}${d.acknowledged_at ? `, acknowledged ${d.acknowledged_at}` : ''}${d.resolved_at ? `, resolved ${d.resolved_at}` : ''}\n`,
      );
      if (d.paged_nobody) out.write(`PAGED NOBODY (since ${d.paged_nobody.since}): ${d.paged_nobody.reason}\n`);
      if (d.summary) out.write(`\n${d.summary}\n`);
      const roles = Object.entries(d.roles);
      if (roles.length) out.write(`\nroles: ${roles.map(([r, p]) => `${r} ${p.name ?? p.user_id}`).join(', ')}\n`);
      if (d.escalation)
        out.write(
          `escalation: ${d.escalation.policy} ${d.escalation.status}, step ${d.escalation.step + 1} pass ${d.escalation.pass + 1}${d.escalation.next ? `, next step at ${d.escalation.next.at}` : ''}\n`,
        );
      if (d.alerts.length) {
        out.write('\nalerts:\n');
        for (const a of d.alerts) out.write(`  [${a.severity}] ${a.summary} (${a.source}, ${a.status}, x${a.count})\n`);
      }
      if (d.action_items.length) {
        out.write('\naction items:\n');
        for (const a of d.action_items) out.write(`  ${a.id}  ${a.status.padEnd(11)} ${a.title}${a.owner?.email ? ` (${a.owner.email})` : ''}\n`);
      }
      out.write('\ntimeline:\n');
      printTimeline(t.timeline);
    });

  incidents
    .command('declare')
    .description('Declare an incident by hand (pages the service’s escalation policy unless --no-page)')
    .requiredOption('-t, --title <title>', 'what is wrong')
    .option('--service <service>', 'affected service')
    .option('--severity <sev>', 'SEV1 (worst) to SEV4', severity, 'SEV3')
    .option('--summary <text>', 'longer description')
    .option('--policy <policy>', 'escalation policy to page (default: the service’s)')
    .option('--commander <user>', 'incident commander (User name, email or id)')
    .option('--no-page', 'do not page anyone')
    .action(async (opts: { title: string; service?: string; severity: string; summary?: string; policy?: string; commander?: string; page: boolean }, cmd: Command) => {
      const res = await clientOf(cmd).call<Detail>('POST', '/v1/incidents', {
        body: {
          title: opts.title,
          severity: opts.severity,
          page: opts.page,
          ...(opts.service ? { service: opts.service } : {}),
          ...(opts.summary ? { summary: opts.summary } : {}),
          ...(opts.policy ? { escalationPolicy: opts.policy } : {}),
          ...(opts.commander ? { commander: opts.commander } : {}),
        },
      });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`declared incident #${res.number} (${res.id}) [${res.severity}] ${res.title}${res.escalation_policy ? `; paging ${res.escalation_policy}` : ''}\n`);
      if (res.paged_nobody) process.stderr.write(`PAGED NOBODY: ${res.paged_nobody.reason}\n`);
    });

  for (const [name, action, verb] of [
    ['ack', 'ack', 'acknowledged'],
    ['mitigate', 'mitigate', 'mitigated'],
    ['resolve', 'resolve', 'resolved'],
    ['close', 'close', 'closed'],
  ] as const) {
    incidents
      .command(name)
      .description(name === 'close' ? 'Close a resolved incident that has a postmortem' : `Mark an incident ${verb}${name === 'ack' || name === 'resolve' ? ' (stops escalation)' : ''}`)
      .argument('<id>', 'incident number or id')
      .option('-m, --note <text>', 'a note for the timeline')
      .action(async (id: string, opts: { note?: string }, cmd: Command) => {
        const client = clientOf(cmd);
        let already = false;
        const res = await client.call<IncidentView>('POST', path(id, `/${action}`), { body: opts.note ? { note: opts.note } : {} }).catch(async (e: unknown) => {
          // Acknowledging twice is what scripts and two responders do: done already is not a failure.
          if (!(e instanceof ApiError) || e.status !== 409) throw e;
          const now = await client.call<IncidentView>('GET', path(id));
          if (now.state !== verb && !(name === 'ack' && now.acknowledged_at !== null)) throw e;
          already = true;
          return now;
        });
        if (globals(cmd).json) return printJson(res);
        process.stdout.write(already ? `incident #${res.number} already ${verb}${res.state !== verb ? ` (now ${res.state})` : ''}\n` : `incident #${res.number} ${res.state}\n`);
      });
  }

  incidents
    .command('update')
    .description('Change an incident’s title, summary or severity')
    .argument('<id>', 'incident number or id')
    .option('--title <title>')
    .option('--summary <text>')
    .option('--severity <sev>', 'SEV1 to SEV4', severity)
    .action(async (id: string, opts: { title?: string; summary?: string; severity?: string }, cmd: Command) => {
      if (!opts.title && opts.summary === undefined && !opts.severity) throw new UsageError('give --title, --summary or --severity');
      const res = await clientOf(cmd).call<IncidentView>('PATCH', path(id), { body: opts });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`incident #${res.number} [${res.severity}] ${res.title}\n`);
    });

  incidents
    .command('note')
    .description('Add a note to the incident timeline')
    .argument('<id>', 'incident number or id')
    .argument('<text...>', 'the note')
    .action(async (id: string, text: string[], _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call('POST', path(id, '/notes'), { body: { text: text.join(' ') } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write('note added\n');
    });

  incidents
    .command('timeline')
    .description('Show the incident timeline')
    .argument('<id>', 'incident number or id')
    .option('--type <types>', 'only these entry types (comma-separated: alert,state,escalation,notification,role,note,...)')
    .action(async (id: string, opts: { type?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<{ timeline: Entry[] }>('GET', path(id, '/timeline'), { query: { type: opts.type } });
      if (globals(cmd).json) return printJson(res);
      printTimeline(res.timeline);
    });

  incidents
    .command('notifications')
    .description('Deliveries of an incident: channel, status, attempts, latency')
    .argument('<id>', 'incident number or id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<DeliveriesAnswer>('GET', path(id, '/notifications'));
      if (globals(cmd).json) return printJson(res);
      printTable(res.notifications, ['delivery_id', 'target', 'channel', 'status', 'attempts', 'last_status', 'latency_ms', 'sent_at', 'last_error']);
    });

  incidents
    .command('roles')
    .description('Show or assign incident roles (commander, communications, scribe)')
    .argument('<id>', 'incident number or id')
    .option('--commander <user>', 'User name, email or id')
    .option('--communications <user>')
    .option('--scribe <user>')
    .option('--unassign <role>', 'remove whoever holds this role')
    .action(async (id: string, opts: { commander?: string; communications?: string; scribe?: string; unassign?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      let roles: Record<string, { name?: string | undefined; email?: string | undefined; user_id: string }> | undefined;
      for (const role of ['commander', 'communications', 'scribe'] as const) {
        const user = opts[role];
        if (user) roles = await client.call('PUT', path(id, `/roles/${role}`), { body: { user } });
      }
      if (opts.unassign) roles = await client.call('DELETE', path(id, `/roles/${encodeURIComponent(opts.unassign)}`));
      roles ??= (await client.call<Detail>('GET', path(id))).roles;
      if (globals(cmd).json) return printJson({ roles });
      const rows = Object.entries(roles).map(([role, p]) => ({ role, name: p.name, email: p.email, user_id: p.user_id }));
      printTable(rows, ['role', 'name', 'email', 'user_id']);
    });

  const postmortem = incidents
    .command('postmortem')
    .description('Write the incident’s Markdown postmortem (summary, impact with SLO error budget lost, timeline, alerts, action items); an edited one is kept unless --force')
    .argument('[id]', 'incident number or id')
    .option('-o, --output <file>', 'write the Markdown to this file instead of standard output')
    .option('--show', 'print the stored postmortem instead of generating a new one')
    .option('--force', 'regenerate even if the stored postmortem was edited (its edits are lost)')
    .addHelpText(
      'after',
      '\nExamples:\n  keel incidents postmortem 12 -o postmortem-12.md\n  keel incidents postmortem 12 --show\n  keel incidents postmortem edit 12\n  keel incidents postmortem put 12 -f postmortem-12.md\n',
    )
    .action(async (id: string | undefined, opts: { output?: string; show?: boolean; force?: boolean }, cmd: Command) => {
      if (!id) throw new UsageError('name the incident: keel incidents postmortem <id> (or: edit <id>, put <id> -f file.md)');
      const res = await clientOf(cmd).call<{ markdown: string }>(opts.show ? 'GET' : 'POST', path(id, '/postmortem'), opts.show || !opts.force ? {} : { query: { force: 'true' } });
      if (globals(cmd).json) return printJson(res);
      if (opts.output) {
        writeFileSync(opts.output, res.markdown);
        process.stderr.write(`postmortem written to ${opts.output}\n`);
      } else process.stdout.write(res.markdown);
    });
  postmortem
    .command('edit')
    .description('Edit the stored postmortem in $VISUAL or $EDITOR (generated first if there is none) and store it')
    .argument('<id>', 'incident number or id')
    .addHelpText('after', '\nExamples:\n  keel incidents postmortem edit 12\n  EDITOR="code --wait" keel incidents postmortem edit 12\n')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = clientOf(cmd);
      const current = await client.call<{ markdown: string }>('GET', path(id, '/postmortem')).catch(async (e: unknown) => {
        if ((e as { status?: number }).status !== 404) throw e;
        return client.call<{ markdown: string }>('POST', path(id, '/postmortem'));
      });
      const edited = editInEditor(current.markdown, `postmortem-${id.replace(/[^A-Za-z0-9_-]/g, '_')}.md`);
      if (edited === current.markdown) {
        process.stderr.write('postmortem unchanged; nothing stored\n');
        return;
      }
      const res = await client.call<{ updated_at: string }>('PUT', path(id, '/postmortem'), { raw: edited, headers: { 'content-type': 'text/markdown; charset=utf-8' } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`postmortem of incident ${id} stored (${Buffer.byteLength(edited)} bytes)\n`);
    });
  postmortem
    .command('put')
    .description('Store a postmortem written elsewhere (a Markdown file, or - for standard input)')
    .argument('<id>', 'incident number or id')
    .requiredOption('-f, --file <file>', 'the Markdown file (- reads standard input)')
    .addHelpText('after', '\nExamples:\n  keel incidents postmortem put 12 -f postmortem-12.md\n  cat pm.md | keel incidents postmortem put 12 -f -\n')
    .action(async (id: string, opts: { file: string }, cmd: Command) => {
      const markdown = readFileSync(opts.file === '-' ? 0 : opts.file);
      const res = await clientOf(cmd).call<{ updated_at: string }>('PUT', path(id, '/postmortem'), { raw: markdown, headers: { 'content-type': 'text/markdown; charset=utf-8' } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`postmortem of incident ${id} stored (${markdown.length} bytes)\n`);
    });

  const action = incidents.command('action').description('Postmortem action items: add, list, update');
  action
    .command('add')
    .description('Add an action item to an incident')
    .argument('<id>', 'incident number or id')
    .requiredOption('-t, --title <title>', 'what to do')
    .option('--owner <user>', 'who does it (User name, email or id)')
    .action(async (id: string, opts: { title: string; owner?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<{ id: string; title: string }>('POST', path(id, '/action-items'), { body: { title: opts.title, ...(opts.owner ? { owner: opts.owner } : {}) } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`added ${res.id}: ${res.title}\n`);
    });
  action
    .command('list')
    .description('List action items: of one incident, or open ones across incidents')
    .argument('[id]', 'incident number or id')
    .option('-s, --status <status>', 'all, or comma-separated: open,in_progress,done,wont_do')
    .option('--owner <user>', 'only this owner')
    .action(async (id: string | undefined, opts: { status?: string; owner?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      const res = id
        ? await client.call<{ action_items: ActionItemAnswer[] }>('GET', path(id, '/action-items'))
        : await client.call<{ action_items: ActionItemAnswer[] }>('GET', '/v1/action-items', { query: { status: opts.status, owner: opts.owner } });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.action_items.map((a) => ({ ...a, owner: a.owner?.email ?? '-' })),
        ['id', 'status', 'title', 'owner', 'incident_id'],
      );
    });
  action
    .command('update')
    .description('Change an action item’s status, owner or title')
    .argument('<id>', 'incident number or id')
    .argument('<item>', 'action item id')
    .option('-s, --status <status>', 'open, in_progress, done, wont_do')
    .option('--owner <user>', 'new owner ("none" to unassign)')
    .option('-t, --title <title>')
    .action(async (id: string, item: string, opts: { status?: string; owner?: string; title?: string }, cmd: Command) => {
      const body = {
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.title ? { title: opts.title } : {}),
        ...(opts.owner ? { owner: opts.owner === 'none' ? null : opts.owner } : {}),
      };
      if (Object.keys(body).length === 0) throw new UsageError('give --status, --owner or --title');
      const res = await clientOf(cmd).call<{ id: string; status: string; title: string }>('PATCH', path(id, `/action-items/${encodeURIComponent(item)}`), { body });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`${res.id} ${res.status}: ${res.title}\n`);
    });

  incidents
    .command('metrics')
    .description('MTTA, MTTR, incidents by severity, pages per person per week')
    .option('--from <time>', 'start (a date, RFC 3339, epoch ms, 7d or now-1h; default 30 days ago)', time)
    .option('--to <time>', 'end (default now)', time)
    .option('--service <service>', 'only this service')
    .action(async (opts: { from?: string; to?: string; service?: string }, cmd: Command) => {
      type Summary = IncidentMetricsAnswer['overall'];
      const res = await clientOf(cmd).call<IncidentMetricsAnswer>('GET', '/v1/incidents/metrics', { query: { from: opts.from, to: opts.to, service: opts.service } });
      if (globals(cmd).json) return printJson(res);
      const dur = (s: number | null) => (s === null ? '-' : formatDuration(s * 1000));
      const row = (name: string, s: Summary) => ({ service: name, incidents: s.incidents, mtta: dur(s.mtta_seconds), mttr: dur(s.mttr_seconds), ...s.by_severity });
      process.stdout.write(`${res.from} to ${res.to}\n\n`);
      printTable([row('(all)', res.overall), ...res.services.map((s) => row(s.service || '(none)', s))], ['service', 'incidents', 'mtta', 'mttr', 'SEV1', 'SEV2', 'SEV3', 'SEV4']);
      process.stdout.write('\non-call load:\n');
      printTable(res.on_call_load, ['user', 'pages', 'pages_per_week']);
    });
}
