/** Issue 10 item 13: exit codes and messages as the README documents them. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
let html: Server;
let htmlUrl: string;
const PAGE =
  '<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is successfully installed.</p>\n</body></html>\n';

beforeAll(async () => {
  t = await startTestKeel();
  // Another web server where Keel was expected: a 404 page for the API, a 200 page for the rest.
  html = createServer((req, res) => {
    res.writeHead(req.url?.startsWith('/v1/keys') ? 404 : 200, { 'content-type': 'text/html' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
  htmlUrl = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => html?.close(resolve));
});

const cli = (args: string[], input?: string) => runCli(args, { url: t.url, key: t.adminKey, ...(input !== undefined ? { input } : {}) });

describe('exit codes and messages', () => {
  it('a refused definition is invalid configuration: exit 2 with every error, for plan and apply', async () => {
    const bad = 'apiVersion: keel/v1\nkind: Service\nmetadata: {name: web}\nspec: {escalationPolicy: missing}\n';
    for (const command of ['plan', 'apply']) {
      const r = await cli([command, '-f', '-'], bad);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toContain('(stdin):4 Service/web spec.escalationPolicy');
    }
  });

  it('a decision that is not retry, skip or abort is a usage error (exit 2) that names the three, sent nowhere', async () => {
    const r = await cli(['runbooks', 'decide', 'run_x', 'maybe']);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith("error: command-argument value 'maybe' is invalid for argument 'decision'. Allowed choices are retry, skip, abort.\n")).toBe(true);
    expect(r.stderr).toContain('Usage: keel runbooks decide [options] <run> <decision>');
  });

  it('a --url without a scheme is a usage error (exit 2), not "unreachable"', async () => {
    const r = await runCli(['keys', 'list', '--url', 'localhost:7070'], { key: t.adminKey });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: --url / KEEL_URL: "localhost:7070" is not an http(s) URL; expected e.g. http://127.0.0.1:7070\n');
  });

  it('a missing input file is one clear line and exit 2, not a raw ENOENT', async () => {
    for (const args of [
      ['events', 'send', 'no-such-file.ndjson'],
      ['audit', 'verify', '-f', 'no-such-export.jsonl'],
      ['apply', '-f', 'no-such-dir/'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: no-such-[a-z./-]+: no such file or directory\n$/);
      expect(r.stderr).not.toContain('ENOENT');
    }
  });

  it('without a key, the message says to set KEEL_API_KEY', async () => {
    const r = await runCli(['keys', 'list'], { url: t.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('set KEEL_API_KEY (or pass --api-key)');
  });

  it('a non-Keel server answering HTML gets one line, not the page', async () => {
    for (const args of [
      ['keys', 'list'],
      ['tenants', 'list'],
    ]) {
      const r = await runCli(args, { url: htmlUrl, key: 'x' });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('not a Keel answer (text/html: "Welcome to nginx!"); is --url / KEEL_URL the Keel server?');
      expect(r.stderr).not.toContain('<h1>');
    }
  });

  it('acknowledging twice is not an error: exit 0 with "already acknowledged"', async () => {
    const declared = await cli(['incidents', 'declare', '--title', 'disk full', '--no-page', '--json']);
    expect(declared.code, declared.stderr).toBe(0);
    const id = String(JSON.parse(declared.stdout).number);
    const first = await cli(['incidents', 'ack', id]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`incident #${id} acknowledged\n`);
    const second = await cli(['incidents', 'ack', id]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(`incident #${id} already acknowledged\n`);
    await cli(['incidents', 'resolve', id]);
    const late = await cli(['incidents', 'ack', id]);
    expect(late.code).toBe(0);
    expect(late.stdout).toBe(`incident #${id} already acknowledged (now resolved)\n`);
    // A move that is not done and not possible stays an error.
    const closed = await cli(['incidents', 'close', id]);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('no postmortem yet');
  });
});
