#!/usr/bin/env node
// Project rules tsc cannot check. Usage: node scripts/lint.mjs [--root DIR] (default: this repo;
// test/lint/ runs it against small trees made for each rule).
//   - no `any` in domain code, no console.log in src (logs go through pino; CLI output through
//     process.stdout), no skipped tests;
//   - no import cycle between files (type imports and re-exports included), nor at run time
//     between domain folders; `core/` imports nothing outside it; nothing imports the
//     composition roots (runtime/, cli/, bench/);
//   - route files (`*routes.ts`) parse, call a service and answer: no kysely, no store, no query
//     builders in them;
//   - a domain is wired in one place, src/runtime/modules.ts: no other file imports another
//     folder's module factory (`module.ts`) or route file (an area's module.ts, such as
//     src/paging/module.ts, wires its own parts src/paging/<part>/).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? resolve(process.argv[rootArg + 1]) : resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');
const problems = [];

function walk(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const srcFiles = walk(src);
const testFiles = walk(join(root, 'test'));
const rel = (f) => relative(root, f);
/**
 * Areas group several domains as parts (`src/paging/<part>/`): each part counts as a domain folder
 * of its own for the rules below (its cycles and wiring are checked as before), and the area's
 * `module.ts` wires its own parts.
 */
const areas = new Set(['paging']);
const folderOf = (f) => {
  const parts = relative(src, f).split('/');
  return areas.has(parts[0]) && parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
};
/** Whether f is an area's module.ts and target one of that area's parts. */
const wiresOwnPart = (f, target) => {
  const [area, file, ...rest] = relative(src, f).split('/');
  return areas.has(area) && file === 'module.ts' && rest.length === 0 && folderOf(target).startsWith(`${area}/`);
};
// Places that legitimately erase types at a boundary (route tables, generic adapters).
const anyAllowed = new Set(['src/api/route.ts']);

/**
 * Route files that still hold queries, each with its reason; the list may only shrink (a listed
 * file that no longer offends is an error too, so the entry is removed).
 */
const routeQueriesAllowed = new Map([]);
/** Files that wire other folders' modules or routes besides src/runtime/modules.ts, with the reason. */
const wiringAllowed = new Map([]);

const texts = new Map(srcFiles.map((f) => [f, readFileSync(f, 'utf8')]));

for (const f of srcFiles) {
  const r = rel(f);
  texts
    .get(f)
    .split('\n')
    .forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (!anyAllowed.has(r) && /(:\s*any\b|<any>|as any\b|any\[\])/.test(code)) problems.push(`${r}:${i + 1}: \`any\` in domain code`);
      if (/\bconsole\.log\(/.test(code)) problems.push(`${r}:${i + 1}: console.log (use the logger or process.stdout)`);
    });
}
for (const f of testFiles) {
  readFileSync(f, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/\b(it|test|describe)\.(skip|todo)\b|\bxit\(/.test(line)) problems.push(`${rel(f)}:${i + 1}: skipped test`);
    });
}

/** Every import or re-export of a file: { spec, target (absolute .ts path, if relative), typeOnly, names (value bindings) }. */
function importsOf(f) {
  const out = [];
  for (const m of texts.get(f).matchAll(/^(import|export)\s+(type\s+)?([^;]*?)\s+from\s+'([^']+)'/gms)) {
    const spec = m[4];
    const typeOnly = Boolean(m[2]);
    const names = typeOnly
      ? []
      : [...(m[3].match(/\{([^}]*)\}/)?.[1] ?? '').split(',')]
          .map((n) => n.trim())
          .filter((n) => n && !n.startsWith('type '))
          .map((n) => n.split(/\s+as\s+/)[0].trim());
    const target = spec.startsWith('.') ? resolve(dirname(f), spec).replace(/\.js$/, '.ts') : undefined;
    out.push({ spec, target, typeOnly: typeOnly || (names.length === 0 && /^\{/.test(m[3].trim())), names });
  }
  for (const m of texts.get(f).matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) {
    out.push({ spec: m[1], target: resolve(dirname(f), m[1]).replace(/\.js$/, '.ts'), typeOnly: false, names: [] });
  }
  return out;
}
const imports = new Map(srcFiles.map((f) => [f, importsOf(f)]));

// File-level cycles, type imports included (Tarjan's strongly connected components).
{
  const graph = new Map(
    srcFiles.map((f) => [
      f,
      [
        ...new Set(
          imports
            .get(f)
            .filter((i) => i.target && texts.has(i.target))
            .map((i) => i.target),
        ),
      ],
    ]),
  );
  let index = 0;
  const stack = [];
  const onStack = new Set();
  const idx = new Map();
  const low = new Map();
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v).includes(v)) problems.push(`import cycle between files: ${component.map(rel).sort().join(', ')}`);
    }
  };
  for (const f of srcFiles) if (!idx.has(f)) strong(f);
}

// core/ is the bottom layer.
for (const f of srcFiles) {
  if (folderOf(f) !== 'core') continue;
  for (const i of imports.get(f)) {
    if (i.target && folderOf(i.target) !== 'core') problems.push(`${rel(f)}: core/ imports ${rel(i.target)} (core imports nothing above it)`);
  }
}

// Domain folders: no run-time cycles; nothing imports a composition root.
const roots = new Set(['runtime', 'cli', 'bench']);
const domainGraph = new Map();
for (const f of srcFiles) {
  const dom = folderOf(f);
  for (const i of imports.get(f)) {
    if (!i.target || i.typeOnly) continue;
    if (!i.target.startsWith(`${src}/`)) continue;
    const target = folderOf(i.target);
    if (target !== dom) {
      if (!domainGraph.has(dom)) domainGraph.set(dom, new Set());
      domainGraph.get(dom).add(target);
    }
  }
}
for (const f of srcFiles) {
  const dom = folderOf(f);
  if (roots.has(dom)) continue;
  for (const i of imports.get(f)) if (i.target && roots.has(folderOf(i.target)) && i.target.startsWith(src)) problems.push(`${rel(f)} imports the composition root src/${folderOf(i.target)}`);
}
const seen = new Set();
function cycle(node, stack) {
  if (stack.includes(node)) return [...stack.slice(stack.indexOf(node)), node];
  if (seen.has(node) || roots.has(node)) return undefined;
  for (const d of domainGraph.get(node) ?? []) {
    const c = cycle(d, [...stack, node]);
    if (c) return c;
  }
  seen.add(node);
  return undefined;
}
for (const dom of domainGraph.keys()) {
  const c = cycle(dom, []);
  if (c) {
    problems.push(`circular imports between domains: ${c.join(' -> ')}`);
    break;
  }
}

// Route files: no kysely, no store, no query builders.
const isRouteFile = (f) => /routes\.ts$/.test(f);
for (const f of srcFiles.filter(isRouteFile)) {
  const r = rel(f);
  const found = [];
  for (const i of imports.get(f)) {
    if (i.spec === 'kysely') found.push('imports kysely');
    if (i.target && folderOf(i.target) === 'store') found.push(`imports ${rel(i.target)}`);
  }
  const code = texts.get(f).replace(/\/\/.*$/gm, '');
  for (const m of code.matchAll(/\.(selectFrom|insertInto|updateTable|deleteFrom|replaceInto)\(|\.transaction\(\)|\bsql`/g)) found.push(`runs a query (${m[0]})`);
  if (routeQueriesAllowed.has(r)) {
    if (found.length === 0) problems.push(`${r}: holds no query any more; remove it from routeQueriesAllowed in scripts/lint.mjs`);
    continue;
  }
  for (const what of new Set(found)) problems.push(`${r}: a route file ${what}; queries belong in the owning domain's service or query functions`);
}

// Wiring: only src/runtime/modules.ts calls other folders' module factories (`xxxModule`) and
// route factories (`xxxRoutes`).
for (const f of srcFiles) {
  const r = rel(f);
  if (r === 'src/runtime/modules.ts') continue;
  const wired = imports
    .get(f)
    .filter((i) => i.target && i.target.startsWith(src) && folderOf(i.target) !== folderOf(f) && !wiresOwnPart(f, i.target))
    .flatMap((i) => i.names.filter((n) => /^[a-z][A-Za-z]*(Module|Routes)$/.test(n)).map((n) => `${n} from ${rel(i.target)}`));
  if (wiringAllowed.has(r)) {
    if (wired.length === 0) problems.push(`${r}: wires no other folder any more; remove it from wiringAllowed in scripts/lint.mjs`);
    continue;
  }
  for (const w of wired) problems.push(`${r}: imports ${w}; a domain is wired only in src/runtime/modules.ts`);
}

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`lint: ${srcFiles.length + testFiles.length} files ok`);
