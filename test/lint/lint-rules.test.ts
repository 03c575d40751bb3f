/**
 * The project rules of scripts/lint.mjs, each shown failing on a small tree made for it (and the
 * same tree without the fault passing), so a rule that stops catching its fault fails here.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '../../scripts/lint.mjs');
const trees: string[] = [];

/** Writes the files (path → text) into a fresh tree and runs the lint on it. */
function lint(files: Record<string, string>): { ok: boolean; output: string } {
  const root = mkdtempSync(join(tmpdir(), 'keel-lint-'));
  trees.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const r = spawnSync(process.execPath, [script, '--root', root], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

afterEach(() => {
  for (const t of trees.splice(0)) rmSync(t, { recursive: true, force: true });
});

/** A small healthy tree: core, a store, a domain with a service, a route file and a module, the runtime. */
const healthy: Record<string, string> = {
  'src/core/clock.ts': 'export interface Clock { now(): number }\n',
  'src/store/schema.ts': 'export interface Database { things: { id: string } }\n',
  'src/store/store.ts': "import type { Database } from './schema.js';\nexport interface Store { db: Database }\n",
  'src/things/thing-service.ts':
    "import type { Store } from '../store/store.js';\nexport class ThingService {\n  constructor(private readonly store: Store) {}\n  list() { return this.store.db.things; }\n}\n",
  'src/things/routes.ts': "import type { ThingService } from './thing-service.js';\nexport function thingRoutes(things: ThingService) { return [() => things.list()]; }\n",
  'src/things/module.ts':
    "import type { Store } from '../store/store.js';\nimport { ThingService } from './thing-service.js';\nimport { thingRoutes } from './routes.js';\nexport function thingsModule(store: Store) { return { name: 'things', routes: thingRoutes(new ThingService(store)) }; }\n",
  'src/runtime/modules.ts': "import { thingsModule } from '../things/module.js';\nexport const modules = [thingsModule];\n",
  'src/runtime/compose.ts': "import { modules } from './modules.js';\nexport const all = modules;\n",
};

describe('scripts/lint.mjs', () => {
  it('passes a tree that keeps every rule', () => {
    const r = lint(healthy);
    expect(r.output).toMatch(/lint: \d+ files ok/);
    expect(r.ok).toBe(true);
  });

  it('fails on an import cycle between two files, also when one side only imports a type', () => {
    const r = lint({
      ...healthy,
      'src/things/a.ts': "import { b } from './b.js';\nexport const a = () => b;\nexport interface A { x: number }\n",
      'src/things/b.ts': "import type { A } from './a.js';\nexport const b = (x: A) => x;\n",
    });
    expect(r.ok).toBe(false);
    expect(r.output).toContain('import cycle between files: src/things/a.ts, src/things/b.ts');
  });

  it('fails when core imports anything outside core, a type included', () => {
    const r = lint({ ...healthy, 'src/core/context.ts': "import type { Store } from '../store/store.js';\nexport interface Ctx { store: Store }\n" });
    expect(r.ok).toBe(false);
    expect(r.output).toContain('src/core/context.ts: core/ imports src/store/store.ts (core imports nothing above it)');
  });

  it('fails on a route file that imports kysely, imports the store, or builds a query', () => {
    const kysely = lint({ ...healthy, 'src/things/routes.ts': "import type { Kysely } from 'kysely';\nexport function thingRoutes(db: Kysely<never>) { return [db]; }\n" });
    expect(kysely.ok).toBe(false);
    expect(kysely.output).toContain('src/things/routes.ts: a route file imports kysely');
    const store = lint({ ...healthy, 'src/things/thing-routes.ts': "import type { Store } from '../store/store.js';\nexport function moreRoutes(store: Store) { return [store]; }\n" });
    expect(store.ok).toBe(false);
    expect(store.output).toContain('src/things/thing-routes.ts: a route file imports src/store/store.ts');
    const query = lint({ ...healthy, 'src/things/routes.ts': "export function thingRoutes(db: { selectFrom(t: string): unknown }) { return [() => db.selectFrom('things')]; }\n" });
    expect(query.ok).toBe(false);
    expect(query.output).toContain('src/things/routes.ts: a route file runs a query (.selectFrom()');
  });

  it('fails on a domain wired outside src/runtime/modules.ts (a module or route factory imported elsewhere)', () => {
    const module = lint({ ...healthy, 'src/runtime/compose.ts': "import { thingsModule } from '../things/module.js';\nexport const all = [thingsModule];\n" });
    expect(module.ok).toBe(false);
    expect(module.output).toContain('src/runtime/compose.ts: imports thingsModule from src/things/module.ts; a domain is wired only in src/runtime/modules.ts');
    const routes = lint({ ...healthy, 'src/runtime/compose.ts': "import { thingRoutes } from '../things/routes.js';\nexport const all = [thingRoutes];\n" });
    expect(routes.ok).toBe(false);
    expect(routes.output).toContain('imports thingRoutes from src/things/routes.ts; a domain is wired only in src/runtime/modules.ts');
    // A type from another folder's route file is not wiring.
    const type = lint({ ...healthy, 'src/runtime/compose.ts': "import type { thingRoutes } from '../things/routes.js';\nexport type R = typeof thingRoutes;\n" });
    expect(type.ok, type.output).toBe(true);
  });

  it("lets an area's module.ts wire its own parts, and checks each part as a domain of its own", () => {
    const area = {
      ...healthy,
      'src/paging/alpha/routes.ts': 'export function alphaRoutes() { return []; }\n',
      'src/paging/beta/beta-service.ts': 'export const beta = 1;\n',
      'src/paging/module.ts':
        "import { alphaRoutes } from './alpha/routes.js';\nimport { beta } from './beta/beta-service.js';\nexport function pagingModule() { return { name: 'paging', routes: alphaRoutes(), beta }; }\n",
    };
    const wired = lint(area);
    expect(wired.ok, wired.output).toBe(true);
    // A sibling part is not the area's wiring.
    const sibling = lint({ ...area, 'src/paging/beta/more.ts': "import { alphaRoutes } from '../alpha/routes.js';\nexport const all = alphaRoutes();\n" });
    expect(sibling.ok).toBe(false);
    expect(sibling.output).toContain('src/paging/beta/more.ts: imports alphaRoutes from src/paging/alpha/routes.ts; a domain is wired only in src/runtime/modules.ts');
    // Two parts of one area importing each other are a cycle between domains.
    const cycle = lint({
      ...area,
      'src/paging/alpha/uses-beta.ts': "import { beta } from '../beta/beta-service.js';\nexport const a = beta;\n",
      'src/paging/beta/uses-alpha.ts': "import { alphaRoutes } from '../alpha/routes.js';\nexport type B = typeof alphaRoutes;\nexport const b = alphaRoutes;\n",
    });
    expect(cycle.ok).toBe(false);
    expect(cycle.output).toMatch(/circular imports between domains: (paging\/alpha -> paging\/beta -> paging\/alpha|paging\/beta -> paging\/alpha -> paging\/beta)/);
  });

  it('fails on a run-time cycle between domain folders and on an import of a composition root', () => {
    const cycle = lint({
      ...healthy,
      'src/things/uses-other.ts': "import { other } from '../other/other.js';\nexport const x = other;\n",
      'src/other/other.ts': "import { ThingService } from '../things/thing-service.js';\nexport const other = ThingService;\n",
    });
    expect(cycle.ok).toBe(false);
    expect(cycle.output).toMatch(/circular imports between domains: (things -> other -> things|other -> things -> other)/);
    const root = lint({ ...healthy, 'src/things/bad.ts': "import { all } from '../runtime/compose.js';\nexport const x = all;\n" });
    expect(root.ok).toBe(false);
    expect(root.output).toContain('src/things/bad.ts imports the composition root src/runtime');
  });

  it('fails on `any`, console.log in src, and a skipped test', () => {
    const r = lint({
      ...healthy,
      'src/things/loose.ts': 'export const f = (x: any) => x;\nexport const g = () => console.log(1);\n',
      'test/things.test.ts': "import { it } from 'vitest';\nit.skip('later', () => undefined);\n",
    });
    expect(r.ok).toBe(false);
    expect(r.output).toContain('src/things/loose.ts:1: `any` in domain code');
    expect(r.output).toContain('src/things/loose.ts:2: console.log');
    expect(r.output).toContain('test/things.test.ts:2: skipped test');
  });
});
