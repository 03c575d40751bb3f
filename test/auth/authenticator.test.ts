/**
 * The authenticator against real key, session and tenant services on a store: which team a
 * request acts on, with which permissions, and every refusal (bad header, another team, ended
 * session, missing CSRF token) with its code. Expected permissions come from the hand-written
 * matrix, not from the table under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthRequest } from '../../src/api/server.js';
import { ApiKeyService } from '../../src/auth/api-keys.js';
import { TEAM_HEADER, bearerOf, createAuthenticator, isSystemAdmin } from '../../src/auth/authenticator.js';
import type { Principal } from '../../src/auth/principal.js';
import { CSRF_HEADER, SESSION_COOKIE, SessionService, csrfTokenFor } from '../../src/auth/sessions.js';
import { TenantService } from '../../src/auth/tenants.js';
import { FakeClock } from '../../src/core/clock.js';
import { PeopleService, type Role } from '../../src/people/people-service.js';
import { expectedOfRole, expectedOfScopes } from '../helpers/permission-matrix.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const clock = new FakeClock('2026-04-01T09:00:00Z');
let ts: TestStore;
let auth: ReturnType<typeof createAuthenticator>;
let sessions: SessionService;
let people: PeopleService;
const keys: Record<string, string> = {};

const req = (over: Partial<AuthRequest> & { headers?: AuthRequest['headers'] } = {}): AuthRequest => ({ method: 'GET', headers: {}, cookies: {}, ...over });
const bearer = (key: string, extra: AuthRequest['headers'] = {}) => req({ headers: { authorization: `Bearer ${key}`, ...extra } });

async function sessionOf(email: string, memberships: [string, Role][], tenant = memberships[0]![0]): Promise<string> {
  const user = await people.upsert({ email, name: email });
  for (const [team, role] of memberships) await people.setRole(team, user.id, role);
  return (await sessions.create({ userId: user.id, tenant, method: 'password', ip: '127.0.0.1', userAgent: 'test' })).token;
}

beforeAll(async () => {
  ts = await openTestStore('sqlite');
  const tenants = new TenantService(ts.store, clock);
  for (const t of ['default', 'acme', 'beta']) await tenants.ensure(t);
  const apiKeys = new ApiKeyService(ts.store, tenants, clock);
  people = new PeopleService(ts.store, clock);
  sessions = new SessionService(ts.store, people, clock, { ttlMs: 86_400_000, idleMs: 3_600_000 });
  auth = createAuthenticator({ keys: apiKeys, sessions, tenants });
  keys.acmeWrite = (await apiKeys.create({ tenant: 'acme', scopes: ['write'], createdBy: 'test' })).key;
  keys.system = (await apiKeys.create({ tenant: 'default', scopes: ['admin'], createdBy: 'test' })).key;
  keys.systemRead = (await apiKeys.create({ tenant: 'default', scopes: ['read'], createdBy: 'test' })).key;
});
afterAll(async () => ts?.close());

describe('API keys', () => {
  it('act on their own tenant with the permissions of their scopes', async () => {
    const p = (await auth.authenticate(bearer(keys.acmeWrite!)))!;
    expect(p).toMatchObject({ kind: 'key', tenant: 'acme', superuser: false });
    expect([...p.permissions].sort()).toEqual([...expectedOfScopes(['write'])].sort());
    expect(p.actor).toMatch(/^key:keel_/);
    expect(auth.actor(p)).toBe(p.actor);
    expect(auth.actor(undefined)).toBe('anonymous');
    // Also as X-API-Key, and naming its own team.
    expect((await auth.authenticate(req({ headers: { 'x-api-key': keys.acmeWrite! } })))!.tenant).toBe('acme');
    expect((await auth.authenticate(bearer(keys.acmeWrite!, { [TEAM_HEADER]: 'acme' })))!.tenant).toBe('acme');
  });

  it('may not name another team (404, so that it stays unknown whether it exists)', async () => {
    await expect(auth.authenticate(bearer(keys.acmeWrite!, { [TEAM_HEADER]: 'beta' }))).rejects.toMatchObject({ code: 'not_found', message: 'team "beta" not found among your teams' });
    await expect(auth.authenticate(bearer(keys.systemRead!, { [TEAM_HEADER]: 'acme' }))).rejects.toMatchObject({ code: 'not_found' });
  });

  it('of the system tenant with the admin scope act on any existing team, as superusers', async () => {
    const p = (await auth.authenticate(bearer(keys.system!, { [TEAM_HEADER]: 'beta' })))!;
    expect(p).toMatchObject({ kind: 'key', tenant: 'beta', superuser: true });
    expect([...p.permissions].sort()).toEqual([...expectedOfScopes(['admin'], true)].sort());
    await expect(auth.authenticate(bearer(keys.system!, { [TEAM_HEADER]: 'nope' }))).rejects.toMatchObject({ code: 'not_found', message: 'team "nope" not found among your teams' });
    await expect(auth.authenticate(bearer(keys.system!, { [TEAM_HEADER]: 'Not A Team!' }))).rejects.toMatchObject({ code: 'not_found' });
  });

  it('must come as "Bearer <key>"', async () => {
    expect(() => bearerOf({ authorization: 'Basic abc' })).toThrow(/must be "Bearer <API key>"/);
    expect(() => bearerOf({ authorization: 'Bearer a b' })).toThrow(/must be "Bearer <API key>"/);
    expect(() => bearerOf({ authorization: 'NotBearer k1' })).toThrow(/must be "Bearer <API key>"/);
    expect(bearerOf({ authorization: 'bearer  k1  ' })).toBe('k1');
    expect(bearerOf({ authorization: '', 'x-api-key': 'k2' })).toBe('k2');
    expect(bearerOf({ 'x-api-key': '' })).toBeUndefined();
    expect(bearerOf({})).toBeUndefined();
    await expect(auth.authenticate(req({ headers: { authorization: 'Token x' } }))).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(auth.authenticate(bearer('keel_not_a_real_key_0000000000000000'))).rejects.toMatchObject({ code: 'unauthorized' });
  });
});

describe('sessions', () => {
  it('without credentials: anonymous', async () => {
    expect(await auth.authenticate(req())).toBeUndefined();
  });

  it('act on the session’s team with the role there, or a named team they belong to', async () => {
    const token = await sessionOf('eve@acme.test', [
      ['acme', 'editor'],
      ['beta', 'viewer'],
    ]);
    const p = (await auth.authenticate(req({ cookies: { [SESSION_COOKIE]: token } })))!;
    expect(p).toMatchObject({ kind: 'user', tenant: 'acme', role: 'editor', superuser: false, email: 'eve@acme.test', actor: 'user:eve@acme.test' });
    expect([...p.permissions].sort()).toEqual([...expectedOfRole('editor')].sort());
    const inBeta = (await auth.authenticate(req({ cookies: { [SESSION_COOKIE]: token }, headers: { [TEAM_HEADER]: ['beta', 'acme'] } })))!;
    expect(inBeta).toMatchObject({ tenant: 'beta', role: 'viewer' });
    expect([...inBeta.permissions].sort()).toEqual([...expectedOfRole('viewer')].sort());
    await expect(auth.authenticate(req({ cookies: { [SESSION_COOKIE]: token }, headers: { [TEAM_HEADER]: 'default' } }))).rejects.toMatchObject({
      code: 'not_found',
      message: 'team "default" not found among your teams',
    });
  });

  it('of a system admin act on any existing team as admin', async () => {
    const token = await sessionOf('root@default.test', [['default', 'admin']]);
    const p = (await auth.authenticate(req({ cookies: { [SESSION_COOKIE]: token }, headers: { [TEAM_HEADER]: 'beta' } })))!;
    expect(p).toMatchObject({ kind: 'user', tenant: 'beta', role: 'admin', superuser: true });
    expect([...p.permissions].sort()).toEqual([...expectedOfRole('admin', true)].sort());
    await expect(auth.authenticate(req({ cookies: { [SESSION_COOKIE]: token }, headers: { [TEAM_HEADER]: 'nope' } }))).rejects.toMatchObject({ code: 'not_found' });
    // A system admin who is also a viewer somewhere acts there as admin too.
    const both = await sessionOf('ops@default.test', [
      ['default', 'admin'],
      ['acme', 'viewer'],
    ]);
    expect(await auth.authenticate(req({ cookies: { [SESSION_COOKIE]: both }, headers: { [TEAM_HEADER]: 'acme' } }))).toMatchObject({ role: 'admin', superuser: true });
    expect(isSystemAdmin([{ tenant: 'default', userId: 'u', role: 'editor' }])).toBe(false);
    expect(isSystemAdmin([{ tenant: 'acme', userId: 'u', role: 'admin' }])).toBe(false);
  });

  it('refuse an ended session', async () => {
    await expect(auth.authenticate(req({ cookies: { [SESSION_COOKIE]: 'ks_unknown' } }))).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/^your session has ended/) });
  });

  it('need the CSRF token for changes, not for reads', async () => {
    const token = await sessionOf('sam@acme.test', [['acme', 'admin']]);
    const cookies = { [SESSION_COOKIE]: token };
    for (const method of ['GET', 'HEAD', 'OPTIONS']) expect(await auth.authenticate(req({ method, cookies }))).toMatchObject({ kind: 'user' });
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      await expect(auth.authenticate(req({ method, cookies })), method).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/X-CSRF-Token/) });
      await expect(auth.authenticate(req({ method, cookies, headers: { [CSRF_HEADER]: 'wrong' } })), method).rejects.toMatchObject({ code: 'forbidden' });
      expect(await auth.authenticate(req({ method, cookies, headers: { [CSRF_HEADER]: csrfTokenFor(token) } }))).toMatchObject({ kind: 'user' });
    }
    // An API key needs none (a browser never sends one on its own).
    expect(await auth.authenticate({ ...bearer(keys.acmeWrite!), method: 'POST' })).toMatchObject({ kind: 'key' });
  });
});

describe('refusal messages', () => {
  it('name the permission and the least scope or role that holds it', async () => {
    const key = (await auth.authenticate(bearer(keys.acmeWrite!)))! as Principal;
    expect(auth.describe('keys:manage', key)).toBe('this key lacks the permission keys:manage (scope "admin")');
    expect(auth.describe('tenants:manage', key)).toBe('this key lacks the permission tenants:manage (scope "admin" of the "default" tenant)');
    const token = await sessionOf('vic@acme.test', [['acme', 'viewer']]);
    const user = (await auth.authenticate(req({ cookies: { [SESSION_COOKIE]: token } })))!;
    expect(auth.describe('incidents:respond', user)).toBe('your role viewer in team "acme" lacks the permission incidents:respond (role responder)');
    expect(auth.describe('system:manage', user)).toBe('your role viewer in team "acme" lacks the permission system:manage (role admin of the "default" tenant)');
  });
});
