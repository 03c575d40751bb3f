/**
 * SIGKILL at any moment: what security acknowledged (users, sessions, lock-outs, audit entries,
 * sealed secrets) survives, and a key rotation killed halfway leaves every secret readable.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { sealedKeyId } from '../../src/core/secrets.js';
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

/** How many SSO client secrets are sealed under each key, read from the store file itself. */
function sealedByKey(db: Database.Database): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of db.prepare('SELECT client_secret AS v FROM sso_providers').all() as { v: string }[]) {
    const id = sealedKeyId(r.v) ?? 'not sealed';
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

/**
 * Starts a rotation to a new key and SIGKILLs the process while it is re-encrypting (values under
 * two keys in the store: it works in chunks of 500), then starts Keel again. Returns the split the
 * dead process left behind, read from the file. A rotation that finished before the kill could
 * land is started again (with yet another key).
 */
async function killMidRotation(k: KeelProcess): Promise<{ k: KeelProcess; split: number[] }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const watch = new Database(join(dataDir, 'state.db'), { readonly: true });
    let finished = false;
    const rotation = http(`${k.url}/v1/secrets/rotate`, { key: adminKey, json: { new_key: true } })
      .catch(() => undefined)
      .finally(() => (finished = true));
    let killed = false;
    try {
      while (!finished && sealedByKey(watch).size < 2) await new Promise((r) => setTimeout(r, 1));
      if (!finished) {
        await k.stop('SIGKILL');
        killed = true;
      }
    } finally {
      watch.close();
    }
    await rotation;
    if (!killed) continue;
    const left = new Database(join(dataDir, 'state.db'), { readonly: true });
    const split = [...sealedByKey(left).values()];
    left.close();
    k = await start();
    if (split.length === 2) return { k, split };
  }
  throw new Error('no kill landed during a rotation in 5 attempts');
}

describe('crash safety of security state', () => {
  it('keeps users, sessions, lock-outs, audit entries and secrets through SIGKILL, even mid-rotation', { timeout: 300_000 }, async () => {
    writeFileSync(join(dataDir, 'keel.yaml'), 'security:\n  passwords:\n    hashCost: 12\n  signIn:\n    maxFailuresPerUser: 3\n');
    let k = await start();
    const admin = { key: adminKey };
    expect((await http(`${k.url}/v1/tenants`, { ...admin, json: { id: 'acme' } })).status).toBe(201);
    const PROVIDERS = 1_100; // three re-encryption chunks: 500, 500, 100
    for (let i = 0; i < PROVIDERS; i += 10) {
      const puts = Array.from({ length: 10 }, (_, j) =>
        http(`${k.url}/v1/sso/providers/p${i + j}`, {
          method: 'PUT',
          ...admin,
          json: { issuer: 'https://idp.example.com', client_id: `c${i + j}`, client_secret: `secret-${i + j}`, default_team: 'acme', default_role: 'viewer' },
        }),
      );
      for (const r of await Promise.all(puts)) expect(r.status).toBe(200);
    }
    expect((await http(`${k.url}/v1/users`, { ...admin, json: { email: 'kim@acme.test', name: 'Kim', role: 'admin', team: 'acme', password: 'survives a crash' } })).status).toBe(201);
    expect((await http(`${k.url}/v1/users`, { ...admin, json: { email: 'lou@acme.test', name: 'Lou', role: 'viewer', team: 'acme', password: 'survives a crash' } })).status).toBe(201);
    const signed = await http(`${k.url}/v1/auth/sign-in`, { json: { email: 'kim@acme.test', password: 'survives a crash' } });
    expect(signed.status).toBe(200);
    const session = { cookie: `keel_session=${cookiesOf(signed).keel_session}`, csrf: signed.body.csrf_token, body: undefined };
    for (let i = 0; i < 3; i++) expect((await http(`${k.url}/v1/auth/sign-in`, { json: { email: 'lou@acme.test', password: `nope nope ${i}` } })).status).toBe(401);
    const head = (await http(`${k.url}/v1/audit/verify`, admin)).body.head;

    for (let kill = 1; kill <= 2; kill++) {
      const r = await killMidRotation(k);
      k = r.k;
      // The kill landed mid-rotation: the dead process left values under two keys, none lost.
      expect(r.split.reduce((a, b) => a + b, 0)).toBe(PROVIDERS);
      expect(Math.min(...r.split), `kill ${kill}: some values re-encrypted, some not`).toBeGreaterThan(0);
      const status = (await http(`${k.url}/v1/secrets/status`, admin)).body;
      expect(status, `kill ${kill}`).toMatchObject({ total_values: PROVIDERS, unreadable: 0 });
      expect(status.under_older_keys, `kill ${kill}: the rotation was left unfinished`).toBeGreaterThan(0);
      expect(status.under_older_keys).toBeLessThan(PROVIDERS);
      expect((await http(`${k.url}/v1/session`, asUser(session))).status).toBe(200);
      expect((await http(`${k.url}/v1/auth/sign-in`, { json: { email: 'lou@acme.test', password: 'survives a crash' } })).status).toBe(429);
      const chain = (await http(`${k.url}/v1/audit/verify?anchor=${head.seq}:${head.hash}`, admin)).body;
      expect(chain.ok).toBe(true);
    }
    // Finishing the rotation opens every value: none was lost or half-written.
    const done = await http(`${k.url}/v1/secrets/rotate`, { ...admin, json: {} });
    expect(done.status).toBe(200);
    expect(done.body.status).toMatchObject({ total_values: PROVIDERS, under_older_keys: 0, unreadable: 0, key_ids: [done.body.status.current_key_id] });
    const audit: unknown[] = [];
    for (let after: number | null = 0; after !== null;) {
      const page: { entries: unknown[]; next_after: number | null } = (await http(`${k.url}/v1/audit?action=sso.provider_set&limit=1000&after=${after}`, admin)).body;
      audit.push(...page.entries);
      after = page.next_after;
    }
    expect(audit).toHaveLength(PROVIDERS);
    expect(JSON.stringify(audit)).not.toContain('secret-1');
  });
});
