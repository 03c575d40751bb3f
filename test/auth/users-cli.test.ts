import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel as keelCli, keelCli as keelProcess } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
let acme: string;
beforeAll(async () => {
  t = await startTestKeel({ security: { passwords: { hashCost: 12 } } });
  acme = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'] } })).body.key;
  await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'beta' } });
});
afterAll(async () => t?.close());

const cli = (args: string[], stdin?: string, key = acme) => keelCli(args, { url: t.url, key, ...(stdin !== undefined ? { stdin } : {}) });

describe('keel users', () => {
  it('adds, lists, changes roles, disables, enables, sets passwords and removes people', async () => {
    const add = await cli(['users', 'add', 'pat@acme.test', '--role', 'responder', '--name', 'Pat', '--time-zone', 'Europe/Berlin', '--password-stdin'], 'pat has a long password\n');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^added pat@acme\.test \(usr_\w+\) as responder, password set$/m);
    const list = await cli(['users', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toMatchObject({ team: 'acme', users: [{ email: 'pat@acme.test', name: 'Pat', role: 'responder', time_zone: 'Europe/Berlin', has_password: true }] });
    const table = await cli(['users', 'list']);
    expect(table.stdout).toMatch(/EMAIL\s+NAME\s+ROLE/);
    expect((await cli(['users', 'set-role', 'pat@acme.test', 'editor'])).stdout).toBe('pat@acme.test is now editor\n');
    expect((await cli(['users', 'disable', 'pat@acme.test'])).stdout).toBe('pat@acme.test disabled\n');
    expect((await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'pat@acme.test', password: 'pat has a long password' } })).status).toBe(401);
    expect((await cli(['users', 'enable', 'pat@acme.test'])).code).toBe(0);
    expect((await cli(['users', 'set-password', 'pat@acme.test'], 'a brand new passphrase')).stdout).toBe('password set for pat@acme.test\n');
    expect((await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'pat@acme.test', password: 'a brand new passphrase' } })).status).toBe(200);
    const short = await cli(['users', 'set-password', 'pat@acme.test'], 'short');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('password must be at least 12 characters (got 5) (400 validation_failed)');
    expect((await cli(['users', 'remove', 'pat@acme.test'])).stdout).toBe('removed pat@acme.test from acme\n');
    expect((await cli(['users', 'show', 'pat@acme.test'])).code).toBe(1);
  });

  it('keeps a team admin to their own team: other teams’ people are not found, shared people’s passwords are not theirs to set', async () => {
    await http(`${t.url}/v1/users`, { key: t.adminKey, json: { email: 'sam@beta.test', name: 'Sam', role: 'admin', team: 'beta', password: 'sam has a long password' } });
    const other = await cli(['users', 'set-role', 'sam@beta.test', 'viewer']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('not found in team "acme" (404 not_found)');
    expect((await cli(['users', 'list', '--team', 'beta'])).stderr).toContain('404');
    expect((await cli(['users', 'add', 'sam@beta.test', '--role', 'viewer'])).code).toBe(0); // now in both teams
    const pw = await cli(['users', 'set-password', 'sam@beta.test'], 'a takeover password');
    expect(pw.code).toBe(1);
    expect(pw.stderr).toContain('is also a member of other teams, so only an admin of the system tenant can set their password');
    const dis = await cli(['users', 'disable', 'sam@beta.test']);
    expect(dis.code).toBe(1);
    expect((await cli(['users', 'set-password', 'sam@beta.test'], 'a password set by root', t.adminKey)).code).toBe(0);
  });

  it('answers --help with 0, bad usage with 2 and an unreachable server with 3', async () => {
    for (const c of ['users', 'restore']) {
      const h = await keelProcess([c, '--help']);
      expect(h.code, c).toBe(0);
    }
    expect((await keelCli(['users', 'add', 'x@y.z'])).code).toBe(2); // --role missing
    const anchor = await keelCli(['audit', 'verify', '--anchor', 'nope'], { url: t.url, key: acme });
    expect(anchor.code).toBe(2);
    expect(anchor.stderr).toContain('expected <seq>:<64 hex characters>');
    expect((await keelProcess(['users', 'list'], { url: 'http://127.0.0.1:9', key: acme })).code).toBe(3);
  });
});
