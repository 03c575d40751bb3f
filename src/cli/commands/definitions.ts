/** `keel plan`, `keel apply`, `keel get`, `keel delete`, `keel history`: definitions as code. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../args.js';
import YAML from 'yaml';
import { ApiError, EXIT } from '../client.js';
import { answer, clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';
import { readStdin } from '../read-secret.js';
import type { PlanAnswer } from '../../definitions/schemas.js';

type Plan = PlanAnswer;

/** Files given with -f: YAML files, directories searched recursively for *.yaml / *.yml, or `-` (standard input). */
export async function collectSources(paths: string[]): Promise<{ file: string; content: string }[]> {
  const out: { file: string; content: string }[] = [];
  const visit = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new UsageError(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        const child = join(p, name);
        if (statSync(child).isDirectory() || /\.ya?ml$/i.test(name)) visit(child);
      }
      return;
    }
    out.push({ file: relative(process.cwd(), p) || p, content: readFileSync(p, 'utf8') });
  };
  for (const p of paths) {
    if (p === '-') out.push({ file: '(stdin)', content: await readStdin() });
    else visit(p);
  }
  if (out.length === 0) throw new UsageError(`no YAML files found in ${paths.join(', ')}`);
  return out;
}

const SYMBOL = { create: '+', update: '~', delete: '-', unchanged: ' ' } as const;

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? '(none)' : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function printPlan(plan: Plan, applied: boolean): void {
  for (const i of plan.items) {
    if (i.action === 'unchanged') continue;
    process.stdout.write(`${SYMBOL[i.action]} ${i.kind}/${i.name}${i.file ? `  (${i.file}:${i.line})` : ''}\n`);
    if (i.action === 'update') {
      for (const d of i.diff) process.stdout.write(`    ~ ${d.path}: ${show(d.before)} -> ${show(d.after)}\n`);
    }
  }
  for (const w of plan.warnings ?? []) {
    process.stderr.write(`warning: ${w.file}:${w.line}${w.kind ? ` ${w.kind}/${w.name ?? ''}` : ''}${w.path ? ` ${w.path}` : ''}: ${w.message}\n`);
  }
  const s = plan.summary;
  process.stdout.write(
    applied
      ? `Applied: ${s.create} created, ${s.update} changed, ${s.delete} deleted, ${s.unchanged} unchanged.\n`
      : `Plan: ${s.create} to create, ${s.update} to change, ${s.delete} to delete, ${s.unchanged} unchanged.\n`,
  );
}

/** A refused definition is invalid configuration: exit 2, as the README's exit codes say. */
function definitionError(e: unknown): never {
  if (e instanceof ApiError && e.code === 'validation_failed') {
    process.stderr.write(`${e.message}\n`);
    throw new HandledError(EXIT.usage);
  }
  throw e;
}

/** An error already reported to the user; main() only returns its exit code. */
export class HandledError extends Error {
  constructor(readonly exitCode: number = EXIT.failed) {
    super('handled');
  }
}

export function registerDefinitions(program: Command): void {
  const files = (cmd: Command) =>
    cmd
      .requiredOption('-f, --file <path...>', 'YAML file or directory (repeatable), or - for standard input; several documents per file')
      .option('--prune', 'also delete definitions that the files do not contain');

  files(program.command('plan').description('Show what `keel apply` would create, change or delete (changes nothing)')).action(async (opts: { file: string[]; prune?: boolean }, cmd: Command) => {
    const plan = await clientOf(cmd)
      .call<Plan>('POST', '/v1/definitions/plan', { body: { sources: await collectSources(opts.file), prune: Boolean(opts.prune) } })
      .catch(definitionError);
    if (globals(cmd).json) return printJson(plan);
    printPlan(plan, false);
  });

  files(program.command('apply').description('Apply definitions (OpenSLO and Keel YAML) atomically: all or nothing')).action(async (opts: { file: string[]; prune?: boolean }, cmd: Command) => {
    const plan = await clientOf(cmd)
      .call<Plan>('POST', '/v1/definitions/apply', { body: { sources: await collectSources(opts.file), prune: Boolean(opts.prune) } })
      .catch(definitionError);
    if (globals(cmd).json) return printJson(plan);
    printPlan(plan, true);
  });

  program
    .command('get')
    .description('Show definitions: `keel get SLO`, `keel get SLO checkout-availability`')
    .argument('[kind]', 'kind, e.g. SLO, SLI, Service, AlertPolicy')
    .argument('[name]', 'name of one definition')
    .option('-o, --output <format>', 'table, yaml or json', 'table')
    .action(async (kind: string | undefined, name: string | undefined, opts: { output: string }, cmd: Command) => {
      const client = clientOf(cmd);
      const json = globals(cmd).json || opts.output === 'json';
      if (kind && name) {
        const d = await client.call<{ document: unknown }>('GET', `/v1/definitions/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`);
        if (json) return printJson(d);
        // The document as it can be applied again (`keel get SLO x -o yaml > x.yaml; keel apply -f x.yaml`).
        process.stdout.write(YAML.stringify(d.document));
        return;
      }
      const res = await client.call<{ definitions: { kind: string; name: string; document: unknown; version: number; updatedAt: number; updatedBy: string }[] }>('GET', '/v1/definitions', {
        query: { kind },
      });
      if (json) return printJson(res);
      if (opts.output === 'yaml') return void process.stdout.write(res.definitions.map((d) => YAML.stringify(d.document)).join('---\n'));
      printTable(
        res.definitions.map((d) => ({ kind: d.kind, name: d.name, version: d.version, updated: new Date(d.updatedAt).toISOString(), by: d.updatedBy })),
        ['kind', 'name', 'version', 'updated', 'by'],
      );
    });

  program
    .command('delete')
    .description('Delete one definition, or those in -f files (refused while others reference them)')
    .argument('[kind]')
    .argument('[name]')
    .option('-f, --file <path...>', 'delete every definition in these YAML files or directories (- for standard input), last first')
    .action(async (kind: string | undefined, name: string | undefined, opts: { file?: string[] }, cmd: Command) => {
      const targets: { kind: string; name: string }[] = [];
      if (opts.file) {
        if (kind) throw new UsageError('give either <kind> <name> or -f, not both');
        for (const src of await collectSources(opts.file)) {
          for (const doc of YAML.parseAllDocuments(src.content)) {
            const v = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
            if (typeof v?.kind !== 'string' || typeof v.metadata?.name !== 'string') throw new UsageError(`${src.file}: every document needs kind and metadata.name`);
            targets.push({ kind: v.kind, name: v.metadata.name });
          }
        }
        // Later documents usually reference earlier ones (an SLO its Service): delete them first.
        targets.reverse();
      } else if (kind && name) targets.push({ kind, name });
      else throw new UsageError('give <kind> <name>, or -f <file>');
      const deleted: unknown[] = [];
      for (const t of targets) {
        deleted.push(await clientOf(cmd).call('DELETE', `/v1/definitions/${encodeURIComponent(t.kind)}/${encodeURIComponent(t.name)}`));
        if (!globals(cmd).json) process.stdout.write(`deleted ${t.kind}/${t.name}\n`);
      }
      answer(cmd, { deleted }, () => undefined);
    });

  program
    .command('history')
    .description('Every version of a definition: who changed what, when')
    .argument('<kind>')
    .argument('<name>')
    .action(async (kind: string, name: string, _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<{ versions: { version: number; action: string; at: string; actor: string; diff: { path: string; before?: unknown; after?: unknown }[] }[] }>(
        'GET',
        `/v1/definitions/${encodeURIComponent(kind)}/${encodeURIComponent(name)}/history`,
      );
      if (globals(cmd).json) return printJson(res);
      for (const v of res.versions) {
        process.stdout.write(`v${v.version}  ${v.at}  ${v.action}  by ${v.actor}\n`);
        if (v.action === 'update') for (const d of v.diff) process.stdout.write(`    ~ ${d.path}: ${show(d.before)} -> ${show(d.after)}\n`);
      }
    });
}
