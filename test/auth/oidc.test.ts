import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.js';
import { keel as keelCli } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { browserSignIn, startIdp, type TestIdp } from '../helpers/oidc.js';
import { addUser, asUser } from '../helpers/security.js';

let t: TestKeel;
let idp: TestIdp;

function session(b: Browser) {
  const token = b.cookie(t.url, 'keel_session');
  const csrf = b.cookie(t.url, 'keel_csrf');
  expect(token).toBeTruthy();
  return { cookie: `keel_session=${token}`, csrf: csrf!, body: undefined };
}

beforeAll(async () => {
  t = await startTestKeel();
  idp = await startIdp([`${t.url}/v1/auth/oidc/corp/callback`], {
    mallory: { email: 'victim@acme.test', email_verified: false },
    noemail: { email: '' },
  });
  const set = await keelCli(['sso', 'set', 'corp', '--issuer', idp.issuer, '--client-id', idp.clientId, '--client-secret-stdin', '--default-team', 'acme', '--default-role', 'responder', '--json'], {
    url: t.url,
    key: t.adminKey,
    stdin: `${idp.clientSecret}\n`,
  });
  expect(set.code, set.stderr).toBe(0);
  expect(JSON.parse(set.stdout)).toMatchObject({ id: 'corp', client_secret_set: true, redirect_uri: `${t.url}/v1/auth/oidc/corp/callback` });
  expect(set.stdout).not.toContain(idp.clientSecret);
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

describe('single sign-on with OpenID Connect', () => {
  it('signs a new person in through a real provider (code + PKCE) and provisions them into the default team and role', async () => {
    const b = new Browser();
    const back = await browserSignIn(b, t.url, 'corp', 'dana', '/incidents?x=1');
    expect(back.status).toBe(302);
    expect(back.location).toBe(`${t.url}/incidents?x=1`);
    const authRequest = new URL(b.hops.find((h) => h.url.startsWith(`${t.url}/v1/auth/oidc/corp/login`))!.location!);
    expect(authRequest.origin).toBe(idp.issuer);
    expect(authRequest.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authRequest.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authRequest.searchParams.get('state')).toBeTruthy();
    expect(authRequest.searchParams.get('nonce')).toBeTruthy();
    const me = await http(`${t.url}/v1/session`, asUser(session(b)));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'user', team: 'acme', role: 'responder', user: { email: 'dana@idp.test', name: 'Person dana', has_password: false, last_sign_in_method: 'oidc:corp' } });
    const audit = await http(`${t.url}/v1/audit?action=auth.sign_in`, { key: t.adminKey });
    expect(audit.body.entries.at(-1)).toMatchObject({ actor: 'user:dana@idp.test', ok: true, after: { method: 'oidc:corp', provisioned: true, team: 'acme' } });
    // The second time, the same person is found again, not provisioned twice.
    const again = new Browser();
    expect((await browserSignIn(again, t.url, 'corp', 'dana')).status).toBe(302);
    const members = await http(`${t.url}/v1/users?team=acme`, { key: t.adminKey });
    expect(members.body.users.filter((u: any) => u.email === 'dana@idp.test')).toHaveLength(1);
    const audit2 = await http(`${t.url}/v1/audit?action=auth.sign_in`, { key: t.adminKey });
    expect(audit2.body.entries.at(-1).after.provisioned).toBe(false);
  });

  it('links a verified email to an existing account and keeps its role', async () => {
    await addUser(t.url, t.adminKey, { email: 'erin@idp.test', role: 'editor', team: 'acme' });
    const b = new Browser();
    expect((await browserSignIn(b, t.url, 'corp', 'erin')).status).toBe(302);
    expect((await http(`${t.url}/v1/session`, asUser(session(b)))).body).toMatchObject({ role: 'editor', user: { email: 'erin@idp.test' } });
  });

  it('refuses to link an unverified email to an existing account, and an identity without email', async () => {
    await addUser(t.url, t.adminKey, { email: 'victim@acme.test', role: 'admin', team: 'acme' });
    const b = new Browser();
    const r = await browserSignIn(b, t.url, 'corp', 'mallory');
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error.message).toMatch(/does not say the email is verified/);
    expect(b.cookie(t.url, 'keel_session')).toBeUndefined();
    const n = await browserSignIn(new Browser(), t.url, 'corp', 'noemail');
    expect(n.status).toBe(401);
    expect(JSON.parse(n.body).error.message).toMatch(/returned no email/);
    const failed = (await http(`${t.url}/v1/audit?action=auth.sign_in`, { key: t.adminKey })).body.entries.filter((e: any) => !e.ok);
    expect(failed.map((e: any) => e.after.reason)).toEqual(expect.arrayContaining(['not provisioned', 'no email claim']));
  });

  it('refuses a callback without the browser’s sign-in cookie (login CSRF), with a tampered state, or with a provider error', async () => {
    const b = new Browser();
    const hop = await b.follow(`${t.url}/v1/auth/oidc/corp/login`, (h) => Boolean(h.location?.startsWith(idp.issuer)));
    const state = new URL(hop.location!).searchParams.get('state');
    const noCookie = await http(`${t.url}/v1/auth/oidc/corp/callback?code=abc&state=${state}`);
    expect(noCookie.status).toBe(400);
    expect(noCookie.body.error.message).toMatch(/no sign-in in progress/);
    const wrongState = await b.fetch(`${t.url}/v1/auth/oidc/corp/callback?code=abc&state=forged`);
    expect(wrongState.status).toBe(401);
    const denied = await b.fetch(`${t.url}/v1/auth/oidc/corp/callback?error=access_denied&error_description=nope&state=${state}`);
    expect(denied.status).toBe(401);
    expect(JSON.parse(denied.body).error.message).toMatch(/refused the sign-in: access_denied/);
    const forgedCookie = new Browser();
    forgedCookie.setCookie(t.url, 'keel_oidc', 'v1:abc:def:ghi', '/v1/auth/oidc/');
    expect((await forgedCookie.fetch(`${t.url}/v1/auth/oidc/corp/callback?code=abc&state=x`)).status).toBe(400);
  });

  it('never sends people elsewhere after sign-in (no open redirect), and lists providers without secrets', async () => {
    const b = new Browser();
    expect((await browserSignIn(b, t.url, 'corp', 'dana', '//evil.example/x')).location).toBe(`${t.url}/`);
    const pub = await http(`${t.url}/v1/auth/providers`);
    expect(pub.body.providers).toEqual([{ id: 'corp', display_name: 'corp', login_url: '/v1/auth/oidc/corp/login' }]);
    const admin = await http(`${t.url}/v1/sso/providers`, { key: t.adminKey });
    expect(admin.text).not.toContain(idp.clientSecret);
    const stored = await t.keel.store.db.selectFrom('sso_providers').select('client_secret').executeTakeFirstOrThrow();
    expect(stored.client_secret).toMatch(/^v1:/);
    expect(stored.client_secret).not.toContain(idp.clientSecret);
    expect((await http(`${t.url}/v1/auth/oidc/nope/login`)).status).toBe(404);
  });
});
