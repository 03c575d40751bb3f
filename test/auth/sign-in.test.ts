import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { addUser, asUser, cookiesOf, setCookieHeaders, signIn } from '../helpers/security.js';

const PW = 'correct horse battery staple';
const clock = new FakeClock(Date.now());
let t: TestKeel;

async function audit(action: string) {
  const r = await http(`${t.url}/v1/audit?action=${action}&limit=1000`, { key: t.adminKey });
  expect(r.status).toBe(200);
  return r.body.entries as any[];
}

beforeAll(async () => {
  t = await startTestKeel(
    { security: { passwords: { hashCost: 12 }, signIn: { maxFailuresPerUser: 3, maxFailuresPerAddress: 8, window: '10m', lockout: '5m' }, sessions: { ttl: '8h', idleTimeout: '1h' } } },
    { clock },
  );
  await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'acme' } });
  await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'beta' } });
});
afterAll(async () => t?.close());

describe('password sign-in and sessions', () => {
  it('signs in with HTTP-only SameSite cookies and a CSRF token, and knows who you are', async () => {
    await addUser(t.url, t.adminKey, { email: 'Alice@Example.com', role: 'editor', team: 'acme', password: PW });
    const r = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'alice@example.com', password: PW } });
    expect(r.status).toBe(200);
    const [session, csrf] = [setCookieHeaders(r).find((c) => c.startsWith('keel_session='))!, setCookieHeaders(r).find((c) => c.startsWith('keel_csrf='))!];
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(csrf).not.toMatch(/HttpOnly/);
    expect(r.body).toMatchObject({ team: 'acme', role: 'editor', user: { email: 'alice@example.com', has_password: true } });
    expect(r.body.csrf_token).toBe(cookiesOf(r).keel_csrf);
    expect(JSON.stringify(r.body)).not.toContain('scrypt');
    const stored = await t.keel.store.db.selectFrom('user_auth').select('password_hash').where('user_id', '=', r.body.user.id).executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^scrypt\$12\$8\$1\$/);
    const s = await signIn(t.url, 'alice@example.com', PW);
    const me = await http(`${t.url}/v1/session`, asUser(s));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'user', team: 'acme', role: 'editor', csrf_token: s.csrf, superuser: false });
    expect(me.body.permissions).toContain('definitions:write');
    expect(me.body.permissions).not.toContain('users:manage');
    const signIns = await audit('auth.sign_in');
    expect(signIns.at(-1)).toMatchObject({ actor: 'user:alice@example.com', tenant: 'acme', ok: true, after: { method: 'password', team: 'acme' } });
  });

  it('refuses changes made with the cookie but without the CSRF token; API keys need none', async () => {
    const s = await signIn(t.url, 'alice@example.com', PW);
    const doc = { sources: [{ file: 'a.yaml', content: 'apiVersion: keel/v1\nkind: Service\nmetadata:\n  name: checkout\n' }] };
    const noToken = await http(`${t.url}/v1/definitions/apply`, asUser(s, { json: doc, csrf: false }));
    expect(noToken.status).toBe(403);
    expect(noToken.body.error.message).toMatch(/X-CSRF-Token/);
    const wrong = await http(`${t.url}/v1/definitions/apply`, asUser(s, { json: doc, headers: { 'x-csrf-token': 'x'.repeat(43) } }));
    expect(wrong.status).toBe(403);
    const ok = await http(`${t.url}/v1/definitions/apply`, asUser(s, { json: doc }));
    expect(ok.status).toBe(200);
    const hist = await http(`${t.url}/v1/definitions/Service/checkout/history`, asUser(s));
    expect(hist.body.versions[0].actor).toBe('user:alice@example.com');
    const applied = await audit('definitions.apply');
    expect(applied.at(-1)).toMatchObject({ actor: 'user:alice@example.com', tenant: 'acme', target: 'Service/checkout' });
  });

  it('says the same for a wrong password and an unknown account, and audits both with the reason', async () => {
    const wrong = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'alice@example.com', password: 'not the password!!' } });
    const unknown = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'nobody@example.com', password: 'not the password!!' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
    const failures = (await audit('auth.sign_in')).filter((e) => !e.ok);
    expect(failures.map((e) => [e.target, e.after.reason])).toEqual(
      expect.arrayContaining([
        ['user/alice@example.com', 'wrong password'],
        ['user/nobody@example.com', 'unknown account'],
      ]),
    );
    expect(JSON.stringify(failures)).not.toContain('not the password');
    await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'alice@example.com', password: PW } }); // a success clears the account's count
  });

  it('locks an account after repeated failures (429 + Retry-After, even with the right password), then lets it in again', async () => {
    await addUser(t.url, t.adminKey, { email: 'bob@example.com', role: 'viewer', team: 'acme', password: PW });
    for (let i = 0; i < 3; i++) {
      const r = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'bob@example.com', password: `wrong password ${i}` } });
      expect(r.status).toBe(401);
    }
    const locked = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'bob@example.com', password: PW } });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBe(300);
    expect(locked.body.error.message).toMatch(/too many failed sign-ins for this account/);
    expect((await audit('auth.lockout')).at(-1)).toMatchObject({ target: 'user/bob@example.com', ok: false });
    clock.advance(301_000);
    const again = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'bob@example.com', password: PW } });
    expect(again.status).toBe(200);
  });

  it('locks an address that fails across many accounts', async () => {
    clock.advance(3_600_000);
    let status = 0;
    for (let i = 0; i < 8; i++) {
      const r = await http(`${t.url}/v1/auth/sign-in`, { json: { email: `spray${i}@example.com`, password: 'Winter2026!!!!' } });
      status = r.status;
    }
    expect(status).toBe(401);
    const r = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'alice@example.com', password: PW } });
    expect(r.status).toBe(429);
    expect(r.body.error.message).toMatch(/for this address/);
    clock.advance(301_000);
  });

  it('acts on the team named by X-Keel-Team or chosen for the session; others are 404', async () => {
    await addUser(t.url, t.adminKey, { email: 'alice@example.com', role: 'viewer', team: 'beta' });
    const s = await signIn(t.url, 'alice@example.com', PW, 'acme');
    expect((await http(`${t.url}/v1/session`, asUser(s, { headers: { 'x-keel-team': 'beta' } }))).body).toMatchObject({ team: 'beta', role: 'viewer' });
    const denied = await http(`${t.url}/v1/definitions/apply`, asUser(s, { json: { sources: [{ file: 'x', content: '' }] }, headers: { 'x-keel-team': 'beta' } }));
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/your role viewer in team "beta" lacks the permission definitions:write \(role editor\)/);
    expect((await http(`${t.url}/v1/session`, asUser(s, { headers: { 'x-keel-team': 'default' } }))).status).toBe(404);
    const sw = await http(`${t.url}/v1/session/team`, asUser(s, { method: 'PUT', json: { team: 'beta' } }));
    expect(sw.status).toBe(200);
    expect((await http(`${t.url}/v1/session`, asUser(s))).body.team).toBe('beta');
    expect((await http(`${t.url}/v1/session/team`, asUser(s, { method: 'PUT', json: { team: 'default' } }))).status).toBe(404);
  });

  it('lets keys and people of the system tenant name any team; others only their own', async () => {
    const acmeKey = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['read'] } })).body.key;
    expect((await http(`${t.url}/v1/definitions`, { key: acmeKey, headers: { 'x-keel-team': 'beta' } })).status).toBe(404);
    expect((await http(`${t.url}/v1/definitions`, { key: acmeKey, headers: { 'x-keel-team': 'acme' } })).status).toBe(200);
    const asAcme = await http(`${t.url}/v1/definitions`, { key: t.adminKey, headers: { 'x-keel-team': 'acme' } });
    expect(asAcme.body.definitions.map((d: any) => d.name)).toEqual(['checkout']);
    expect((await http(`${t.url}/v1/definitions`, { key: t.adminKey, headers: { 'x-keel-team': 'nowhere' } })).status).toBe(404);
    await addUser(t.url, t.adminKey, { email: 'root@example.com', role: 'admin', team: 'default', password: PW });
    const root = await signIn(t.url, 'root@example.com', PW);
    const me = await http(`${t.url}/v1/session`, asUser(root, { headers: { 'x-keel-team': 'acme' } }));
    expect(me.body).toMatchObject({ team: 'acme', role: 'admin', superuser: true });
  });

  it('ends sessions on sign-out, idle timeout, password change and disabling', async () => {
    const a = await signIn(t.url, 'alice@example.com', PW);
    const out = await http(`${t.url}/v1/auth/sign-out`, asUser(a, { method: 'POST' }));
    expect(out.status).toBe(200);
    expect((await http(`${t.url}/v1/session`, asUser(a))).status).toBe(401);

    const idle = await signIn(t.url, 'alice@example.com', PW);
    clock.advance(3_600_001);
    expect((await http(`${t.url}/v1/session`, asUser(idle))).status).toBe(401);

    const keep = await signIn(t.url, 'alice@example.com', PW);
    const other = await signIn(t.url, 'alice@example.com', PW);
    const bad = await http(`${t.url}/v1/session/password`, asUser(keep, { method: 'PUT', json: { current_password: 'wrong wrong wrong', new_password: 'another long passphrase' } }));
    expect(bad.status).toBe(403);
    const short = await http(`${t.url}/v1/session/password`, asUser(keep, { method: 'PUT', json: { current_password: PW, new_password: 'short' } }));
    expect(short.status).toBe(400);
    expect(short.body.error.details).toEqual([{ path: 'password', message: 'must be at least 12 characters (got 5)' }]);
    const changed = await http(`${t.url}/v1/session/password`, asUser(keep, { method: 'PUT', json: { current_password: PW, new_password: 'another long passphrase' } }));
    expect(changed.status).toBe(200);
    expect((await http(`${t.url}/v1/session`, asUser(keep))).status).toBe(200);
    expect((await http(`${t.url}/v1/session`, asUser(other))).status).toBe(401);

    const dis = await http(`${t.url}/v1/users/bob@example.com`, { method: 'PATCH', key: t.adminKey, json: { disabled: true, team: 'acme' } });
    expect(dis.status).toBe(200);
    const bob = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'bob@example.com', password: PW } });
    expect(bob.status).toBe(401);
  });

  it('refuses malformed sign-in bodies with the field, never a 500', async () => {
    const cases: [unknown, string][] = [
      [{ email: 'a@b.c' }, 'password'],
      [{ email: 'not-an-email', password: 'x' }, 'email'],
      [{ email: 'a@b.c', password: 'x', extra: 1 }, 'unknown field(s): extra'],
      [{ email: 'a@b.c', password: 'x'.repeat(2000) }, 'password'],
    ];
    for (const [body, expected] of cases) {
      const r = await http(`${t.url}/v1/auth/sign-in`, { json: body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.text).toContain(expected);
    }
    const form = await http(`${t.url}/v1/auth/sign-in`, { body: 'email=a@b.c&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const broken = await http(`${t.url}/v1/auth/sign-in`, { body: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
  });
});
