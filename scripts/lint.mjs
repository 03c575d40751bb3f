#!/usr/bin/env node
// Project rules tsc cannot check: no `any` in domain code, no circular imports between domains,
// no skipped tests, no console.log in src (logs go through pino; CLI output through process.stdout).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const problems = [];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const srcFiles = walk(join(root, 'src'));
const testFiles = walk(join(root, 'test'));
// Places that legitimately erase types at a boundary (route tables, generic adapters).
const anyAllowed = new Set(['src/api/route.ts']);

for (const f of srcFiles) {
  const rel = relative(root, f);
  const text = readFileSync(f, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (!anyAllowed.has(rel) && /(:\s*any\b|<any>|as any\b|any\[\])/.test(code)) problems.push(`${rel}:${i + 1}: \`any\` in domain code`);
    if (/\bconsole\.log\(/.test(code)) problems.push(`${rel}:${i + 1}: console.log (use the logger or process.stdout)`);
  });
}
for (const f of testFiles) {
  const rel = relative(root, f);
  readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
    if (/\b(it|test|describe)\.(skip|todo)\b|\bxit\(/.test(line)) problems.push(`${rel}:${i + 1}: skipped test`);
  });
}

// Domain import graph: src/<domain>/... importing src/<other>/...; cycles between domains are errors.
// `import type` is left out: it is erased at build time, and store/schema.ts must name every
// domain's tables while every domain uses the Store.
const graph = new Map();
for (const f of srcFiles) {
  const dom = relative(join(root, 'src'), f).split('/')[0];
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'/gms)) {
    const target = relative(join(root, 'src'), resolve(dirname(f), m[1])).split('/')[0];
    if (target && target !== dom && !target.startsWith('..')) {
      if (!graph.has(dom)) graph.set(dom, new Set());
      graph.get(dom).add(target);
    }
  }
}
// Composition roots may import everything; nothing may import them.
const roots = new Set(['runtime', 'cli', 'bench']);
for (const [dom, deps] of graph) {
  for (const d of deps) if (roots.has(d) && !roots.has(dom)) problems.push(`src/${dom} imports the composition root src/${d}`);
}
const seen = new Set();
function cycle(node, stack) {
  if (stack.includes(node)) return [...stack.slice(stack.indexOf(node)), node];
  if (seen.has(node) || roots.has(node)) return undefined;
  for (const d of graph.get(node) ?? []) {
    const c = cycle(d, [...stack, node]);
    if (c) return c;
  }
  seen.add(node);
  return undefined;
}
for (const dom of graph.keys()) {
  const c = cycle(dom, []);
  if (c) {
    problems.push(`circular imports between domains: ${c.join(' -> ')}`);
    break;
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`lint: ${srcFiles.length + testFiles.length} files ok`);
