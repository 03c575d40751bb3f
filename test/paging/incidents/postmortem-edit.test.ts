/**
 * Regenerating a postmortem never overwrites an edited one without --force; postmortems are
 * edited in $EDITOR or stored from a file, and the API takes text/markdown.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel, runCli } from '../../helpers/cli.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { startPagingKeel } from '../../helpers/paging.js';

let t: TestKeel;
let number: number;
const dir = mkdtempSync(join(tmpdir(), 'keel-pm-'));
const cli = (...args: string[]) => keel(args, { url: t.url, key: t.adminKey });
const stored = async () => (await http(`${t.url}/v1/incidents/${number}/postmortem`, { key: t.adminKey })).body;

beforeAll(async () => {
  t = await startPagingKeel();
  const d = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'Search was slow', page: false } });
  expect(d.status, d.text).toBe(201);
  number = d.body.number;
  expect((await http(`${t.url}/v1/incidents/${number}/resolve`, { method: 'POST', key: t.adminKey })).status).toBe(200);
});
afterAll(async () => t?.close());

describe('postmortems that people edited', () => {
  it('are stored from a file (put), and regenerating refuses to overwrite them without --force', async () => {
    const generated = await cli('incidents', 'postmortem', String(number));
    expect(generated.code, generated.stderr).toBe(0);
    expect((await stored()).edited).toBeNull();
    const file = join(dir, 'pm.md');
    writeFileSync(file, '# Search was slow\n\nThe index rebuild ran at noon. Never again.\n');
    const put = await cli('incidents', 'postmortem', 'put', String(number), '-f', file);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toBe(`postmortem of incident ${number} stored (63 bytes)\n`);
    expect(await stored()).toMatchObject({ markdown: '# Search was slow\n\nThe index rebuild ran at noon. Never again.\n', edited: { by: expect.stringMatching(/^key:/) } });

    const again = await cli('incidents', 'postmortem', String(number));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`the postmortem of incident #${number} was edited`);
    expect(again.stderr).toContain('use --force');
    expect((await stored()).markdown).toContain('Never again.');
    const api = await http(`${t.url}/v1/incidents/${number}/postmortem`, { method: 'POST', key: t.adminKey });
    expect(api.status).toBe(409);

    const forced = await cli('incidents', 'postmortem', String(number), '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('# Postmortem: incident #');
    expect(await stored()).toMatchObject({ edited: null });
    expect((await stored()).markdown).not.toContain('Never again.');
  });

  it('are edited in $EDITOR', async () => {
    const editor = join(dir, 'editor.mjs');
    writeFileSync(editor, "import { appendFileSync } from 'node:fs';\nappendFileSync(process.argv[2], '\\n## Lessons\\n\\nAlerts on index rebuilds.\\n');\n");
    const r = await runCli(['incidents', 'postmortem', 'edit', String(number)], { url: t.url, key: t.adminKey, env: { EDITOR: `${process.execPath} ${editor}`, VISUAL: '' } });
    expect(r.code, r.stderr).toBe(0);
    const pm = await stored();
    expect(pm.markdown).toMatch(/^# Postmortem: incident #\d+: Search was slow\n/);
    expect(pm.markdown.endsWith('\n## Lessons\n\nAlerts on index rebuilds.\n')).toBe(true);
    expect(pm.edited).not.toBeNull();
    // An editor that changes nothing stores nothing.
    writeFileSync(editor, 'process.exit(0);\n');
    const same = await runCli(['incidents', 'postmortem', 'edit', String(number)], { url: t.url, key: t.adminKey, env: { EDITOR: `${process.execPath} ${editor}`, VISUAL: '' } });
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toContain('postmortem unchanged; nothing stored');
    // An editor that fails stores nothing either.
    writeFileSync(editor, 'process.exit(3);\n');
    const failed = await runCli(['incidents', 'postmortem', 'edit', String(number)], { url: t.url, key: t.adminKey, env: { EDITOR: `${process.execPath} ${editor}`, VISUAL: '' } });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('exited with status 3; nothing stored');
    expect((await stored()).markdown).toBe(pm.markdown);
  });

  it('are accepted by the API as text/markdown or JSON, with precise 4xx otherwise', async () => {
    const put = (body: string | Buffer, type: string) => http(`${t.url}/v1/incidents/${number}/postmortem`, { method: 'PUT', key: t.adminKey, body, headers: { 'content-type': type } });
    const md = await put('# Postmortem\n\nÜbersicht.\n', 'text/markdown; charset=utf-8');
    expect(md.status, md.text).toBe(200);
    expect((await stored()).markdown).toBe('# Postmortem\n\nÜbersicht.\n');
    const json = await put(JSON.stringify({ markdown: '# From JSON\n' }), 'application/json');
    expect(json.status, json.text).toBe(200);
    expect((await stored()).markdown).toBe('# From JSON\n');
    const empty = await put('', 'text/markdown');
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toBe('body: the postmortem is empty');
    const latin1 = await put(Buffer.from([0x23, 0x20, 0xdc, 0x0a]), 'text/markdown');
    expect(latin1.status).toBe(400);
    expect(latin1.body.error.message).toBe('body: not valid UTF-8 text');
    const unknown = await put(JSON.stringify({ markdown: 'x', extra: 1 }), 'application/json');
    expect(unknown.status).toBe(400);
    const html = await put('<h1>x</h1>', 'text/html');
    expect(html.status).toBe(415);
    expect(html.body.error.message).toBe('send the postmortem as text/markdown or application/json, not text/html');
    expect((await stored()).markdown).toBe('# From JSON\n');
  });
});
