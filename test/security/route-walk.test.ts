/**
 * Walks EVERY route the running server has (taken from the runtime, so routes other domains add
 * are walked too), calling each as anonymous, as API keys of every scope and as people of every
 * role, and checks the outcome against the hand-written permission matrix (not the table under
 * test): allowed → neither 401 nor 403, denied → 403 (401 without credentials). Then, as another tenant, asks for a tenant's resources
 * by id and by filter: 404, and none of its data in any answer.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AnyRoute } from '../../src/api/route.js';
import { PERMISSIONS, type Permission, type Scope } from '../../src/auth/permissions.js';
import type { Role } from '../../src/people/people-service.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { expectedOfRole, expectedOfScopes } from '../helpers/permission-matrix.js';
import { addUser, asUser, signIn, type SignedIn } from '../helpers/security.js';

const PW = 'walk every route 2026';
let t: TestKeel;

interface Caller {
  name: string;
  permissions: Set<Permission> | 'none';
  headers(): Promise<Record<string, string>>;
  /** A change was made with this caller (it may have ended its own session). */
  changed?(): void;
}
const callers: Caller[] = [];

async function createKey(tenant: string, scopes: Scope[]): Promise<{ key: string; id: string; prefix: string }> {
  const r = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant, scopes, name: `walk ${scopes.join(',')}` } });
  expect(r.status).toBe(201);
  return { key: r.body.key, id: r.body.id, prefix: r.body.prefix };
}

/** A person's session, signed in again whenever a route (sign-out, password change…) ended it. */
function userCaller(email: string, role: Role, team: string, superuser = false): Caller {
  let s: SignedIn | undefined;
  let check = false;
  return {
    name: `user ${role}${superuser ? ' (system admin)' : ''}`,
    permissions: expectedOfRole(role, superuser),
    headers: async () => {
      if (s && check && (await http(`${t.url}/v1/session`, asUser(s))).status !== 200) s = undefined;
      check = false;
      s ??= await signIn(t.url, email, PW, team);
      return asUser(s).headers;
    },
    changed: () => {
      check = true;
    },
  };
}

function pathOf(r: AnyRoute, values: Record<string, string>): string {
  return r.url.replace(/:([A-Za-z_]+)/g, (_m, name: string) => encodeURIComponent(values[name] ?? `nope-${randomBytes(4).toString('hex')}`));
}

/** A body that satisfies the route's schema where that can be guessed from its JSON Schema. */
function sampleOf(s: Record<string, any> | undefined): unknown {
  if (!s) return {};
  if (s.enum) return s.enum[0];
  if (s.const !== undefined) return s.const;
  if (s.anyOf) return sampleOf(s.anyOf.find((x: any) => x.type !== 'null') ?? s.anyOf[0]);
  switch (s.type) {
    case 'object':
      return Object.fromEntries((s.required ?? []).map((k: string) => [k, sampleOf(s.properties?.[k])]));
    case 'string':
      if (s.format === 'email') return 'someone@example.com';
      if (s.format === 'uri') return 'https://example.com';
      return 'x'.repeat(Math.max(1, s.minLength ?? 1, Math.min(16, s.maxLength ?? 16)));
    case 'number':
    case 'integer':
      return s.minimum ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => sampleOf(s.items));
    default:
      return {};
  }
}

function bodyOf(r: AnyRoute): unknown {
  if (!r.body) return {};
  try {
    return sampleOf(z.toJSONSchema(r.body, { io: 'input', unrepresentable: 'any' }) as Record<string, any>);
  } catch {
    return {};
  }
}

async function call(r: AnyRoute, path: string, headers: Record<string, string>, body: unknown = {}) {
  if (r.rawBody) return http(`${t.url}${path}`, { method: r.method, body: ndjson([{ probe: true }]), headers: { ...headers, 'content-type': r.rawBody.contentTypes[0]! } });
  if (r.method === 'GET' || r.method === 'DELETE') return http(`${t.url}${path}`, { method: r.method, headers });
  return http(`${t.url}${path}`, { method: r.method, json: body, headers });
}

beforeAll(async () => {
  t = await startTestKeel({ security: { passwords: { hashCost: 12 } } });
  for (const id of ['acme', 'beta']) await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id } });
  callers.push({ name: 'anonymous', permissions: 'none', headers: async () => ({}) });
  for (const scopes of [['ingest'], ['read'], ['respond'], ['write'], ['admin']] as Scope[][]) {
    const k = await createKey('acme', scopes);
    callers.push({ name: `key ${scopes.join(',')}`, permissions: expectedOfScopes(scopes), headers: async () => ({ authorization: `Bearer ${k.key}` }) });
  }
  callers.push({ name: 'key admin (system tenant)', permissions: expectedOfScopes(['admin'], true), headers: async () => ({ authorization: `Bearer ${t.adminKey}` }) });
  for (const role of ['viewer', 'responder', 'editor', 'admin'] as Role[]) {
    await addUser(t.url, t.adminKey, { email: `${role}@acme.test`, role, team: 'acme', password: PW });
    callers.push(userCaller(`${role}@acme.test`, role, 'acme'));
  }
  await addUser(t.url, t.adminKey, { email: 'root@default.test', role: 'admin', team: 'default', password: PW });
  callers.push(userCaller('root@default.test', 'admin', 'default', true));
});
afterAll(async () => t?.close());

describe('every route, every role', () => {
  it('declares exactly one known permission on every route', () => {
    expect(t.keel.routes.length).toBeGreaterThan(20);
    for (const r of t.keel.routes) {
      expect(r.permission === 'public' || (PERMISSIONS as readonly string[]).includes(r.permission), `${r.method} ${r.url} has no known permission: ${String(r.permission)}`).toBe(true);
      if (r.method !== 'GET') expect(Boolean(r.audit || r.auditExempt), `${r.method} ${r.url} is neither audited nor exempt`).toBe(true);
    }
  });

  it('gives each caller exactly what the hand-written permission matrix says', { timeout: 240_000 }, async () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (const r of t.keel.routes) {
      for (const c of callers) {
        const res = await call(r, pathOf(r, {}), await c.headers());
        if (r.method !== 'GET') c.changed?.();
        const allowed = r.permission === 'public' || (c.permissions !== 'none' && c.permissions.has(r.permission));
        const expected = allowed ? 'not 401/403' : c.permissions === 'none' ? '401' : '403';
        // Public routes that check a credential of their own (integration keys, feed tokens) may
        // refuse the walker's keys and sessions; they must still never fail.
        const ok = r.authenticatesItself ? true : allowed ? res.status !== 401 && res.status !== 403 : res.status === (c.permissions === 'none' ? 401 : 403);
        if (!ok || res.status >= 500) mismatches.push(`${r.method} ${r.url} as ${c.name} (needs ${r.permission}): expected ${expected}, got ${res.status} ${res.text.slice(0, 160)}`);
        checked++;
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(t.keel.routes.length * callers.length);
  });
});

describe('tenant isolation', () => {
  const marker = `beta-secret-${randomBytes(6).toString('hex')}`;
  const beta: Record<string, string> = {};

  beforeAll(async () => {
    const k = await createKey('beta', ['admin']);
    const betaUser = await addUser(t.url, t.adminKey, { email: `${marker}@beta.test`, role: 'admin', team: 'beta', password: PW });
    Object.assign(beta, { keyId: k.id, keyPrefix: k.prefix, userId: betaUser.id, email: betaUser.email, service: `${marker}-svc` });
    const applied = await http(`${t.url}/v1/definitions/apply`, {
      key: k.key,
      json: { sources: [{ file: 'b.yaml', content: `apiVersion: keel/v1\nkind: Service\nmetadata:\n  name: ${beta.service}\nspec:\n  description: ${marker}\n` }] },
    });
    expect(applied.status).toBe(200);
    const ev = await http(`${t.url}/v1/events`, { key: k.key, body: ndjson([{ marker }]), headers: { 'content-type': 'application/x-ndjson' } });
    expect(ev.status).toBe(202);
  });

  /** Values to put in a route's params that name beta's resources. */
  function betaParams(r: AnyRoute): Record<string, string>[] {
    const names = [...r.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!);
    const options: Record<string, string[]> = {
      id: [beta.keyId!, 'beta', beta.userId!],
      user: [beta.userId!, beta.email!],
      kind: ['Service'],
      name: [beta.service!],
      tenant: ['beta'],
      team: ['beta'],
    };
    let combos: Record<string, string>[] = [{}];
    for (const n of names) combos = combos.flatMap((c) => (options[n] ?? [beta.keyId!, beta.userId!, 'beta']).map((v) => ({ ...c, [n]: v })));
    return combos;
  }

  function filterKeys(r: AnyRoute): string[] {
    const shape = r.query instanceof z.ZodObject ? Object.keys(r.query.shape) : [];
    return shape.filter((k) => k === 'tenant' || k === 'team');
  }

  it('answers 404 for another tenant’s resources by id and by filter, and never shows its data', { timeout: 240_000 }, async () => {
    const acme = callers.filter((c) => c.permissions !== 'none' && !c.permissions.has('tenants:manage') && c.name !== 'anonymous');
    const secrets = () => [marker, beta.keyId!, beta.keyPrefix!, beta.userId!];
    const problems: string[] = [];
    let byId = 0;
    let byFilter = 0;
    for (const r of t.keel.routes) {
      if (r.permission === 'public') continue;
      const names = [...r.url.matchAll(/:([A-Za-z_]+)/g)];
      for (const c of acme) {
        const mayCall = c.permissions !== 'none' && c.permissions.has(r.permission);
        const headers = await c.headers();
        const attempts: { path: string; asked: string[] }[] = [];
        if (names.length) for (const v of betaParams(r)) attempts.push({ path: pathOf(r, v), asked: Object.values(v) });
        for (const f of filterKeys(r)) attempts.push({ path: `${r.url.includes(':') ? pathOf(r, {}) : r.url}?${f}=beta`, asked: ['beta'] });
        if (!names.length && r.method === 'GET') attempts.push({ path: r.url, asked: [] });
        for (const a of attempts) {
          const res = await call(r, a.path, headers, bodyOf(r));
          if (r.method !== 'GET') c.changed?.();
          const leaked = secrets().filter((s) => !a.asked.some((x) => x.includes(s) || s.includes(x)) && res.text.includes(s));
          if (leaked.length) problems.push(`${r.method} ${a.path} as ${c.name} leaked ${leaked.join(', ')}: ${res.text.slice(0, 200)}`);
          const targeted = a.asked.length > 0;
          // A body the walker could not make valid is refused before any lookup; that answer must be the
          // one a made-up id gets, so it says nothing about the other tenant's resource.
          let refusedAlike = false;
          if (targeted && mayCall && res.status === 400) {
            const made = await call(r, pathOf(r, {}), headers, bodyOf(r));
            refusedAlike = made.status === 400 && made.body?.error?.message === res.body?.error?.message;
          }
          if (targeted && mayCall && res.status !== 404 && !refusedAlike) problems.push(`${r.method} ${a.path} as ${c.name}: expected 404, got ${res.status} ${res.text.slice(0, 160)}`);
          if (targeted && !mayCall && res.status !== 403) problems.push(`${r.method} ${a.path} as ${c.name} (lacks ${r.permission}): expected 403, got ${res.status}`);
          if (targeted && a.path.includes('?')) byFilter++;
          else if (targeted) byId++;
        }
      }
    }
    expect(problems).toEqual([]);
    expect(byId).toBeGreaterThan(20);
    expect(byFilter).toBeGreaterThan(5);
    // And beta's things are all still there, untouched by the attempts.
    const keys = await http(`${t.url}/v1/keys?tenant=beta`, { key: t.adminKey });
    expect(keys.body.keys.map((k: any) => k.id)).toContain(beta.keyId);
    const members = await http(`${t.url}/v1/users?team=beta`, { key: t.adminKey });
    expect(members.body.users.map((u: any) => u.email)).toContain(beta.email);
  });
});
