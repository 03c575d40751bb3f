/** `keel runbooks ...`: run (or dry-run) a runbook, list and show runs, approve, decide, abort, the toil ledger. */
import { Argument, Command, InvalidArgumentError } from 'commander';
import { positiveInt, time } from '../args.js';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';
import type { RunAnswer, RunDetailAnswer, RunListAnswer, ToilLedgerAnswer } from '../../runbooks/schemas.js';

type RunView = RunAnswer;

/** A dry run's answer: sent beside the start's 201 as a 200 of its own, so not a declared answer. */
interface DryRunView {
  dry_run: true;
  params: Record<string, unknown>;
  steps: { name: string; kind: string; resolved: Record<string, unknown> }[];
}

/** `--param k=v`, repeatable. */
function param(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('write NAME=VALUE');
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

function waitingFor(r: RunView): string {
  if (r.phase === 'approval') return `waits for an approval of step ${r.current_step}: keel runbooks approve ${r.id}`;
  if (r.phase === 'unknown') return `step ${r.current_step}'s outcome is unknown: keel runbooks decide ${r.id} retry|skip|abort`;
  return '';
}

function printRun(r: RunView): void {
  process.stdout.write(`run ${r.id} of ${r.runbook}: ${r.status}${r.outcome && r.outcome !== r.status ? ` (${r.outcome})` : ''}${r.error ? ` — ${r.error}` : ''}\n`);
  process.stdout.write(`started ${r.created_at} by ${r.actor} (${r.trigger})${r.incident ? `, incident #${r.incident.number}` : ''}\n`);
  const w = waitingFor(r);
  if (w) process.stdout.write(`${w}\n`);
  printTable(
    r.steps.map((s) => ({ ...s, error: s.error ?? '' })),
    ['name', 'status', 'attempts', 'started_at', 'finished_at', 'error'],
  );
}

/**
 * A command step's output so far (the API's live_output), each stream indented. A step that is
 * not running (its outcome unknown after Keel stopped mid-step) shows all it printed: partial, as
 * the console marks it, not live.
 */
function printLive(step: RunDetailAnswer['steps'][number], live: NonNullable<RunDetailAnswer['steps'][number]['live_output']>): void {
  const what = step.status === 'running' ? `output so far (live, updated ${live.updated_at})` : `output printed before Keel stopped (partial, updated ${live.updated_at})`;
  process.stdout.write(`\nstep ${step.name}, ${what}:\n`);
  const indent = (text: string) =>
    text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `  ${l}\n`)
      .join('');
  if (live.stdout) process.stdout.write(indent(live.stdout));
  if (live.stderr) process.stdout.write(`stderr:\n${indent(live.stderr)}`);
  if (!live.stdout && !live.stderr) process.stdout.write('  (nothing yet)\n');
}

export function registerRunbooks(program: Command): void {
  const runbooks = program.command('runbooks').description('Runbooks as code: run them, approve their steps, see their runs and the toil they save');

  runbooks
    .command('run')
    .description('Start a run of a runbook (with --dry-run: show every step resolved, run nothing)')
    .argument('<name>', 'the runbook (metadata.name)')
    .option('-p, --param <name=value>', 'a parameter (repeat for more)', param, {})
    .option('--dry-run', 'resolve every parameter and template and show each step, without side effects')
    .option('--incident <id>', 'tie the run to an incident (number or id): templates read it, steps go on its timeline')
    .action(async (name: string, opts: { param: Record<string, string>; dryRun?: boolean; incident?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<RunView | DryRunView>('POST', `/v1/runbooks/${encodeURIComponent(name)}/runs`, {
        body: { params: opts.param, dry_run: Boolean(opts.dryRun), ...(opts.incident ? { incident: opts.incident } : {}) },
      });
      if (globals(cmd).json) return printJson(res);
      if ('dry_run' in res) {
        process.stdout.write(`dry run of ${name} (parameters ${JSON.stringify(res.params)}): nothing was run\n`);
        for (const [i, s] of res.steps.entries()) process.stdout.write(`${i + 1}. ${s.name} [${s.kind}] ${JSON.stringify(s.resolved)}\n`);
        return;
      }
      printRun(res);
    });

  runbooks
    .command('runs')
    .description('Runs, newest first')
    .option('-r, --runbook <name>', 'only runs of this runbook')
    .option('-s, --status <status>', 'queued, running, waiting, succeeded, failed or aborted')
    .option('-n, --limit <n>', 'at most this many', positiveInt, 100)
    .action(async (opts: { runbook?: string; status?: string; limit: number }, cmd: Command) => {
      const res = await clientOf(cmd).call<RunListAnswer>('GET', '/v1/runbooks/runs', { query: { runbook: opts.runbook, status: opts.status, limit: opts.limit } });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.runs.map((r) => ({ ...r, step: r.current_step ?? '', incident: r.incident ? `#${r.incident.number}` : '' })),
        ['id', 'runbook', 'status', 'step', 'trigger', 'actor', 'incident', 'created_at'],
      );
    });

  runbooks
    .command('show')
    .description('One run: its steps, their outputs (secrets redacted) and its journal')
    .argument('<run>', 'the run id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const r = await clientOf(cmd).call<RunDetailAnswer>('GET', `/v1/runbooks/runs/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(r);
      printRun(r);
      for (const s of r.steps) if (s.live_output) printLive(s, s.live_output);
      process.stdout.write('\njournal\n');
      for (const j of r.journal) process.stdout.write(`${j.at}  ${j.event.padEnd(22)} ${j.step ?? ''}  (${j.actor})${typeof j.data.error === 'string' ? `  ${j.data.error}` : ''}\n`);
    });

  runbooks
    .command('approve')
    .description('Approve (or with --reject, reject) the approval step a run waits on')
    .argument('<run>', 'the run id')
    .option('--reject', 'reject instead: the run fails')
    .option('--reason <text>', 'why (kept with a rejection)')
    .action(async (id: string, opts: { reject?: boolean; reason?: string }, cmd: Command) => {
      const r = await clientOf(cmd).call<RunView>('POST', `/v1/runbooks/runs/${encodeURIComponent(id)}/approve`, { body: { approve: !opts.reject, ...(opts.reason ? { reason: opts.reason } : {}) } });
      if (globals(cmd).json) return printJson(r);
      printRun(r);
    });

  runbooks
    .command('decide')
    .description('Decide about a step whose outcome is unknown (Keel stopped while it ran, or it timed out): retry, skip or abort')
    .argument('<run>', 'the run id')
    // Checked by commander before anything is sent (a throw in the action left a usage error unprinted).
    .addArgument(new Argument('<decision>', 'retry, skip or abort').choices(['retry', 'skip', 'abort']))
    .action(async (id: string, decision: string, _opts: unknown, cmd: Command) => {
      const r = await clientOf(cmd).call<RunView>('POST', `/v1/runbooks/runs/${encodeURIComponent(id)}/decide`, { body: { decision } });
      if (globals(cmd).json) return printJson(r);
      printRun(r);
    });

  runbooks
    .command('abort')
    .description('Abort a run')
    .argument('<run>', 'the run id')
    .option('--reason <text>', 'why')
    .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
      const r = await clientOf(cmd).call<RunView>('POST', `/v1/runbooks/runs/${encodeURIComponent(id)}/abort`, { body: opts.reason ? { reason: opts.reason } : {} });
      if (globals(cmd).json) return printJson(r);
      printRun(r);
    });

  runbooks
    .command('toil')
    .description('The toil ledger: manual runs, hand-approved steps and time spent waiting on people, per runbook, best automation candidates first')
    .option('--since <time>', 'from (a date, RFC 3339, epoch ms, 30d or now-7d; default 30d)', time)
    .action(async (opts: { since?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<ToilLedgerAnswer>('GET', '/v1/runbooks/toil', { query: { since: opts.since } });
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`toil from ${res.from} to ${res.to}\n`);
      printTable(res.runbooks, ['runbook', 'team', 'runs', 'manual_runs', 'automatic_runs', 'hand_approved_steps', 'person_decisions', 'waiting_seconds', 'score']);
    });
}
