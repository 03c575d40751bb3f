/**
 * Captures everything two real Keel processes write (stdout JSON logs and stderr) over a full run
 * at debug level, with keys, passwords, sessions, single sign-on and key rotation, and greps it
 * for every secret the run created or presented.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { Browser } from '../helpers/browser.js';
import { keelCli } from '../helpers/cli.js';
import { http, ndjson } from '../helpers/keel.js';
import { browserSignIn, startIdp, type TestIdp } from '../helpers/oidc.js';
import { asUser, cookiesOf } from '../helpers/security.js';

const dataDir = mkdtempSync(join(tmpdir(), 'keel-logs-'));
let idp: TestIdp | undefined;
const procs: KeelProcess[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  await idp?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('secrets are never logged', () => {
  it('leaves no key, password, token or client secret in the logs of a full run', { timeout: 240_000 }, async () => {
    const secrets: Record<string, string> = {};
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    Object.assign(secrets, { k1: k1.toString('base64'), k1hex: k1.toString('hex'), k2: k2.toString('base64'), k2hex: k2.toString('hex') });
    const adminKey = `keel_${randomBytes(30).toString('base64url')}`;
    secrets.adminKey = adminKey;
    const env = { KEEL_LOG_LEVEL: 'debug', KEEL_SECRET_KEY: secrets.k1! };
    const a = await spawnKeel({ dataDir, adminKey, env, captureStdout: true });
    procs.push(a);
    const admin = { key: adminKey };

    const acme = await http(`${a.url}/v1/keys`, { ...admin, json: { tenant: 'acme', scopes: ['admin'] } });
    const ingest = await http(`${a.url}/v1/keys`, { key: acme.body.key, json: { scopes: ['ingest'] } });
    secrets.acmeKey = acme.body.key;
    secrets.ingestKey = ingest.body.key;
    const ev = await http(`${a.url}/v1/events`, { key: ingest.body.key, body: ndjson([{ service: 'x', ok: true }]), headers: { 'content-type': 'application/x-ndjson' } });
    expect(ev.status).toBe(202);
    secrets.bogusKey = `keel_${randomBytes(30).toString('base64url')}`;
    expect((await http(`${a.url}/v1/tenants`, { key: secrets.bogusKey })).status).toBe(401);

    secrets.pw1 = `first-password-${randomBytes(6).toString('hex')}`;
    secrets.pw2 = `second-password-${randomBytes(6).toString('hex')}`;
    secrets.pw3 = `third-password-${randomBytes(6).toString('hex')}`;
    secrets.wrong = `wrong-password-${randomBytes(6).toString('hex')}`;
    expect((await http(`${a.url}/v1/users`, { key: acme.body.key, json: { email: 'ann@acme.test', name: 'Ann', role: 'admin', password: secrets.pw1 } })).status).toBe(201);
    const cli = await keelCli(['users', 'add', 'ben@acme.test', '--role', 'viewer', '--password-stdin'], { url: a.url, key: acme.body.key, stdin: `${secrets.pw2}\n` });
    expect(cli.code, cli.stderr).toBe(0);
    expect((await http(`${a.url}/v1/auth/sign-in`, { json: { email: 'ann@acme.test', password: secrets.wrong } })).status).toBe(401);
    expect((await http(`${a.url}/v1/auth/sign-in`, { json: { email: 'nobody@acme.test', password: secrets.wrong } })).status).toBe(401);
    const signed = await http(`${a.url}/v1/auth/sign-in`, { json: { email: 'ann@acme.test', password: secrets.pw1 } });
    expect(signed.status).toBe(200);
    secrets.session = cookiesOf(signed).keel_session!;
    secrets.csrf = signed.body.csrf_token;
    const s = { cookie: `keel_session=${secrets.session}`, csrf: secrets.csrf!, body: undefined };
    expect((await http(`${a.url}/v1/session/password`, asUser(s, { method: 'PUT', json: { current_password: secrets.pw1, new_password: secrets.pw3 } }))).status).toBe(200);
    expect((await http(`${a.url}/v1/keys`, asUser(s, { json: { scopes: ['read'] }, csrf: false }))).status).toBe(403);

    idp = await startIdp([`${a.url}/v1/auth/oidc/corp/callback`]);
    secrets.clientSecret = idp.clientSecret;
    const sso = await keelCli(['sso', 'set', 'corp', '--issuer', idp.issuer, '--client-id', 'keel', '--client-secret-stdin', '--default-team', 'acme'], {
      url: a.url,
      key: adminKey,
      stdin: idp.clientSecret,
    });
    expect(sso.code, sso.stderr).toBe(0);
    const b = new Browser();
    expect((await browserSignIn(b, a.url, 'corp', 'oscar')).status).toBe(302);
    secrets.ssoSession = b.cookie(a.url, 'keel_session')!;
    const callback = b.hops.find((h) => h.url.includes('/callback?'))!;
    secrets.code = new URL(callback.url).searchParams.get('code')!;
    secrets.oidcState = new URL(callback.url).searchParams.get('state')!;
    await a.stop('SIGTERM');

    // The operator rotates: the new key in KEEL_SECRET_KEY, the old one kept in KEEL_SECRET_KEY_PREVIOUS.
    const b2 = await spawnKeel({ dataDir, adminKey, env: { ...env, KEEL_SECRET_KEY: secrets.k2!, KEEL_SECRET_KEY_PREVIOUS: secrets.k1! }, captureStdout: true });
    procs.push(b2);
    const status = await http(`${b2.url}/v1/secrets/status`, admin);
    expect(status.body).toMatchObject({ key_source: 'env', key_location: 'KEEL_SECRET_KEY', under_older_keys: 1 });
    const rotated = await http(`${b2.url}/v1/secrets/rotate`, { ...admin, json: {} });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ reencrypted: 1, status: { under_older_keys: 0 } });
    const newKey = await http(`${b2.url}/v1/secrets/rotate`, { ...admin, json: { new_key: true } });
    expect(newKey.status).toBe(409);
    expect(newKey.body.error.message).toMatch(/KEEL_SECRET_KEY/);
    await b2.stop('SIGTERM');

    const logs = [a.stdout(), a.stderr(), b2.stdout(), b2.stderr()].join('\n');
    const lines = logs.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.some((l) => JSON.parse(l).msg === 'request' && JSON.parse(l).route === '/v1/auth/oidc/:provider/callback')).toBe(true);
    expect(lines.some((l) => JSON.parse(l).msg === 'audit chain head')).toBe(true);
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThan(8);
      expect(logs.includes(value), `the logs contain ${name}`).toBe(false);
    }
  });
});
