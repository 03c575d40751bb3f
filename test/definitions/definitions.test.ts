import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { KindHandler } from '../../src/definitions/kinds.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';

// Two small kinds stand in for real ones: a Team, and a Widget that must reference a Team.
const team: KindHandler<{ description: string }> = {
  apiVersions: ['test/v1'],
  kind: 'Team',
  order: 1,
  parse: (doc) => {
    const r = z.object({ description: z.string() }).strict().safeParse(doc.spec);
    return r.success ? { ok: true, spec: r.data } : { ok: false, errors: r.error.issues.map((i) => ({ path: ['spec', ...(i.path as (string | number)[])], message: i.message })) };
  },
  validateDelete: (name, ctx) => (ctx.all('Widget').some((w) => (w.spec as { team: string }).team === name) ? [{ path: [], message: `team ${name} is still used by a Widget` }] : []),
};
const widget: KindHandler<{ team: string; size: number }> = {
  apiVersions: ['test/v1'],
  kind: 'Widget',
  order: 2,
  parse: (doc) => {
    const r = z
      .object({ team: z.string(), size: z.number().min(0).max(10) })
      .strict()
      .safeParse(doc.spec);
    return r.success ? { ok: true, spec: r.data } : { ok: false, errors: r.error.issues.map((i) => ({ path: ['spec', ...(i.path as (string | number)[])], message: i.message })) };
  },
  validate: (spec, _name, ctx) => (ctx.get('Team', spec.team) ? [] : [{ path: ['spec', 'team'], message: `no Team named "${spec.team}"` }]),
};

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
  t.keel.ctx.kinds.register(team);
  t.keel.ctx.kinds.register(widget);
});
afterAll(async () => t?.close());

const teamDoc = (name: string, description = 'x') => `apiVersion: test/v1\nkind: Team\nmetadata:\n  name: ${name}\nspec:\n  description: ${description}\n`;
const widgetDoc = (name: string, teamName: string, size: number) => `apiVersion: test/v1\nkind: Widget\nmetadata:\n  name: ${name}\nspec:\n  team: ${teamName}\n  size: ${size}\n`;

async function call(path: string, sources: { file: string; content: string }[], prune = false) {
  return http(`${t.url}/v1/definitions/${path}`, { key: t.adminKey, json: { sources, prune } });
}

describe('plan and apply', () => {
  it('refuses the whole set with every error located by file, line and field path', async () => {
    const r = await call('apply', [
      { file: 'teams.yaml', content: teamDoc('core') },
      {
        file: 'widgets.yaml',
        content: `${widgetDoc('ok', 'core', 1)}---\n${widgetDoc('too-big', 'core', 11)}---\n${widgetDoc('orphan', 'nobody', 1)}---\napiVersion: test/v1\nkind: Gadget\nmetadata:\n  name: g\n`,
      },
      { file: 'broken.yaml', content: 'apiVersion: test/v1\nkind: [unclosed\n' },
    ]);
    expect(r.status).toBe(400);
    const details = r.body.error.details as { file: string; line: number; path: string; message: string }[];
    expect(details).toContainEqual(expect.objectContaining({ file: 'widgets.yaml', line: 15, path: 'spec.size' }));
    expect(details).toContainEqual(expect.objectContaining({ file: 'widgets.yaml', line: 22, path: 'spec.team', message: 'no Team named "nobody"' }));
    expect(details).toContainEqual(expect.objectContaining({ file: 'widgets.yaml', line: 26, path: 'kind' }));
    expect(details.some((d) => d.file === 'broken.yaml' && d.message.startsWith('not valid YAML'))).toBe(true);
    expect(r.body.error.message).toContain('widgets.yaml:15 Widget/too-big spec.size');
    const list = await http(`${t.url}/v1/definitions`, { key: t.adminKey });
    expect(list.body.definitions).toEqual([]);
  });

  it('plans, applies, versions and diffs', async () => {
    const sources = [{ file: 'all.yaml', content: `${teamDoc('core')}---\n${widgetDoc('w1', 'core', 1)}` }];
    const plan = await call('plan', sources);
    expect(plan.status).toBe(200);
    expect(plan.body.summary).toEqual({ create: 2, update: 0, delete: 0, unchanged: 0 });
    expect((await http(`${t.url}/v1/definitions`, { key: t.adminKey })).body.definitions).toEqual([]);
    const applied = await call('apply', sources);
    expect(applied.body.summary.create).toBe(2);
    const again = await call('plan', sources);
    expect(again.body.summary).toEqual({ create: 0, update: 0, delete: 0, unchanged: 2 });
    const changed = await call('apply', [{ file: 'all.yaml', content: `${teamDoc('core')}---\n${widgetDoc('w1', 'core', 5)}` }]);
    expect(changed.body.summary.update).toBe(1);
    expect(changed.body.items.find((i: any) => i.name === 'w1').diff).toEqual([{ path: 'size', before: 1, after: 5 }]);
    const hist = await http(`${t.url}/v1/definitions/Widget/w1/history`, { key: t.adminKey });
    expect(hist.body.versions.map((v: any) => [v.version, v.action])).toEqual([
      [1, 'create'],
      [2, 'update'],
    ]);
    expect(hist.body.versions[1].actor).toMatch(/^key:keel_/);
  });

  it('refuses deleting what is still referenced, and prunes only when asked', async () => {
    const del = await http(`${t.url}/v1/definitions/Team/core`, { method: 'DELETE', key: t.adminKey });
    expect(del.status).toBe(409);
    const noPrune = await call('apply', [{ file: 'teams.yaml', content: teamDoc('core') }]);
    expect(noPrune.body.summary.delete).toBe(0);
    const pruned = await call('apply', [{ file: 'teams.yaml', content: teamDoc('core') }], true);
    expect(pruned.status).toBe(200);
    expect(pruned.body.items.filter((i: any) => i.action === 'delete').map((i: any) => i.name)).toEqual(['w1']);
    const gone = await http(`${t.url}/v1/definitions/Widget/w1`, { key: t.adminKey });
    expect(gone.status).toBe(404);
  });
});
