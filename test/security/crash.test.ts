/**
 * SIGKILL at any moment: what security acknowledged (users, sessions, lock-outs, audit entries,
 * sealed secrets) survives, and a key rotation killed halfway leaves every secret readable.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { http } from '../helpers/keel.js';
import { asUser, cookiesOf } from '../helpers/security.js';

const dataDir = mkdtempSync(join(tmpdir(), 'keel-crash-'));
const adminKey = `keel_crash_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
let current: KeelProcess | undefined;
afterAll(async () => {
  await current?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<KeelProcess> {
  current = await spawnKeel({ dataDir, adminKey });
  return current;
}

describe('crash safety of security state', () => {
  it('keeps users, sessions, lock-outs, audit entries and secrets through SIGKILL, even mid-rotation', { timeout: 240_000 }, async () => {
    writeFileSync(join(dataDir, 'keel.yaml'), 'security:\n  passwords:\n    hashCost: 12\n  signIn:\n    maxFailuresPerUser: 3\n');
    let k = await start();
    const admin = { key: adminKey };
    expect((await http(`${k.url}/v1/tenants`, { ...admin, json: { id: 'acme' } })).status).toBe(201);
    const PROVIDERS = 60;
    for (let i = 0; i < PROVIDERS; i++) {
      const r = await http(`${k.url}/v1/sso/providers/p${i}`, { method: 'PUT', ...admin, json: { issuer: 'https://idp.example.com', client_id: `c${i}`, client_secret: `secret-${i}`, default_team: 'acme', default_role: 'viewer' } });
      expect(r.status).toBe(200);
    }
    expect((await http(`${k.url}/v1/users`, { ...admin, json: { email: 'kim@acme.test', name: 'Kim', role: 'admin', team: 'acme', password: 'survives a crash' } })).status).toBe(201);
    expect((await http(`${k.url}/v1/users`, { ...admin, json: { email: 'lou@acme.test', name: 'Lou', role: 'viewer', team: 'acme', password: 'survives a crash' } })).status).toBe(201);
    const signed = await http(`${k.url}/v1/auth/sign-in`, { json: { email: 'kim@acme.test', password: 'survives a crash' } });
    expect(signed.status).toBe(200);
    const session = { cookie: `keel_session=${cookiesOf(signed).keel_session}`, csrf: signed.body.csrf_token, body: undefined };
    for (let i = 0; i < 3; i++) expect((await http(`${k.url}/v1/auth/sign-in`, { json: { email: 'lou@acme.test', password: `nope nope ${i}` } })).status).toBe(401);
    const head = (await http(`${k.url}/v1/audit/verify`, admin)).body.head;

    for (const delayMs of [5, 40]) {
      const rotation = http(`${k.url}/v1/secrets/rotate`, { ...admin, json: { new_key: true } }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, delayMs));
      await k.stop('SIGKILL');
      await rotation;
      k = await start();
      const status = (await http(`${k.url}/v1/secrets/status`, admin)).body;
      expect(status, `killed ${delayMs} ms into a rotation`).toMatchObject({ total_values: PROVIDERS, unreadable: 0 });
      expect((await http(`${k.url}/v1/session`, asUser(session))).status).toBe(200);
      expect((await http(`${k.url}/v1/auth/sign-in`, { json: { email: 'lou@acme.test', password: 'survives a crash' } })).status).toBe(429);
      const chain = (await http(`${k.url}/v1/audit/verify?anchor=${head.seq}:${head.hash}`, admin)).body;
      expect(chain.ok).toBe(true);
    }
    // Finishing the rotation opens every value: none was lost or half-written.
    const done = await http(`${k.url}/v1/secrets/rotate`, { ...admin, json: {} });
    expect(done.status).toBe(200);
    expect(done.body.status).toMatchObject({ total_values: PROVIDERS, under_older_keys: 0, unreadable: 0, key_ids: [done.body.status.current_key_id] });
    const audit = (await http(`${k.url}/v1/audit?action=sso.provider_set&limit=1000`, admin)).body.entries;
    expect(audit).toHaveLength(PROVIDERS);
    expect(JSON.stringify(audit)).not.toContain('secret-1');
  });
});
