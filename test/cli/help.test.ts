/** Issue 10 item 16: one meaning per flag, examples in every leaf command's help, shell completion. */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';

function leaves(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  if (cmd.commands.length === 0) return [{ path, cmd }];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

describe('keel --help', () => {
  const program = buildProgram();
  const all = leaves(program);

  it('walks a real tree (every command, not a handful)', () => {
    expect(all.length).toBeGreaterThanOrEqual(78);
    expect(all.map((l) => l.path.join(' '))).toContain('incidents action add');
  });

  it('every leaf command shows at least one example under "Examples:"', () => {
    const missing = all.filter((l) => !/\nExamples:\n {2}keel \S/.test(helpOf(l.cmd))).map((l) => l.path.join(' '));
    expect(missing).toEqual([]);
  });

  it('each example names its own command', () => {
    for (const l of all) {
      const examples = helpOf(l.cmd)
        .split('\nExamples:\n')[1]!
        .split('\n')
        .filter((x) => x.startsWith('  keel'));
      for (const e of examples) expect(e, l.path.join(' ')).toContain(`keel ${l.path.join(' ')}`);
    }
  });

  it('-o means --output everywhere (never --owner)', () => {
    const meaning = new Map<string, Set<string>>();
    const visit = (cmd: Command) => {
      for (const o of cmd.options) if (o.short && o.long) (meaning.get(o.short) ?? meaning.set(o.short, new Set()).get(o.short)!).add(o.long);
      cmd.commands.forEach(visit);
    };
    visit(program);
    expect([...(meaning.get('-o') ?? [])]).toEqual(['--output']);
  });
});

describe('keel completion', () => {
  const top = buildProgram().commands.map((c) => c.name());

  it('bash: a completion function naming every top-level command', async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('complete -o default -F _keel keel');
    const line = r.stdout.split('\n').find((l) => l.startsWith('    "keel") words='))!;
    for (const name of top) expect(line.split(/[' ]/)).toContain(name);
    expect(r.stdout).toContain(`"keel incidents action add") words='--title -t --owner --help'`);
  });

  it('zsh and fish: generated from the same tree', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout.startsWith('#compdef keel\n')).toBe(true);
    const fish = await runCli(['completion', 'fish']);
    expect(fish.code).toBe(0);
    for (const name of top) expect(fish.stdout).toContain(`-n 'test (__keel_path) = "keel"' -a '${name}'`);
    const bad = await runCli(['completion', 'powershell']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected bash, zsh or fish');
  });
});
