/** Issue 10 item 19: the docs describe what exists: the design is in the repo, links and names resolve. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';

const DOCS = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];
const text = (f: string) => readFileSync(f, 'utf8');

describe('the docs describe only what exists', () => {
  it('the design lives in the repo (docs/architecture.md); nothing points outside it', () => {
    expect(existsSync('docs/architecture.md')).toBe(true);
    for (const f of DOCS) expect(text(f), f).not.toMatch(/ARCHITECTURE\.md|\.\.\/shared\//);
  });

  it('every relative link and every file path docs/architecture.md names exists', () => {
    for (const f of DOCS) {
      for (const [, target] of text(f).matchAll(/\]\(((?!https?:|mailto:|#)[^)#\s]+)(#[^)]*)?\)/g)) {
        expect(existsSync(join(dirname(f), target!)), `${f} links to ${target}`).toBe(true);
      }
    }
    for (const [, path] of text('docs/architecture.md').matchAll(/`(src\/[A-Za-z0-9_/.-]+)`/g)) {
      expect(existsSync(path!), `docs/architecture.md names ${path}`).toBe(true);
    }
  });

  it('the web console and the runbook automation the docs describe exist', () => {
    // The console (docs/console.md): its server side, its source and the page the docs point to.
    for (const path of ['src/console/module.ts', 'console/index.html', 'console/src/main.tsx', 'docs/console.md']) expect(existsSync(path), path).toBe(true);
    // Runbooks as code (docs/runbooks-as-code.md): the kind, the executor, the shipped examples.
    for (const path of ['src/runbooks/module.ts', 'src/runbooks/run-machine.ts', 'src/runbooks/executor.ts', 'docs/runbooks-as-code.md', 'examples/runbooks'])
      expect(existsSync(path), path).toBe(true);
    expect(
      DOCS.some((f) => /kind: Runbook/.test(text(f))),
      'some doc shows a Runbook definition',
    ).toBe(true);
  });

  it('every `keel <command>` in the docs is a command the CLI has', () => {
    const top = new Set(buildProgram().commands.map((c) => c.name()));
    const unknown: string[] = [];
    for (const f of DOCS) {
      for (const block of text(f).matchAll(/```(?:sh|bash|console)?\n([\s\S]*?)```/g)) {
        for (const line of block[1]!.split('\n')) {
          for (const m of line.matchAll(/(?:^|[;|&]\s*|\$\(\s*)keel ([a-z][a-z-]*)/g)) if (!top.has(m[1]!)) unknown.push(`${f}: keel ${m[1]}`);
        }
      }
    }
    expect(unknown).toEqual([]);
  });
});
