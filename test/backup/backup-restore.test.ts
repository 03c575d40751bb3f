/**
 * `keel backup` of a running Keel under ingest load, `keel restore` into a fresh data dir, and a
 * Keel started there: every event acknowledged before the backup began, every definition, key,
 * user and sealed secret is there.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { keyPrefix } from '../../src/auth/api-key-format.js';
import { keel as keelCli, runCli } from '../helpers/cli.js';
import { http, ndjson } from '../helpers/keel.js';

const work = mkdtempSync(join(tmpdir(), 'keel-backup-'));
const procs: KeelProcess[] = [];
/** The admin key of the Keel the first test backs up (the later tests restore its backup). */
let backedUpAdminKey = '';
afterAll(async () => {
  for (const p of procs) {
    await p.stop('SIGKILL');
    p.cleanup();
  }
  rmSync(work, { recursive: true, force: true });
});

async function readAllMarkers(url: string, key: string): Promise<Set<string>> {
  const out = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const r = await http(`${url}/v1/events?limit=10000${cursor ? `&cursor=${cursor}` : ''}`, { key });
    expect(r.status).toBe(200);
    for (const e of r.body.events) out.add(e.marker);
    cursor = r.body.cursor;
    if (!r.body.has_more) return out;
  }
}

describe('backup and restore', () => {
  it('backs up under load and restores every acknowledged event, definition, key, user and secret', { timeout: 240_000 }, async () => {
    const a = await spawnKeel();
    procs.push(a);
    backedUpAdminKey = a.adminKey;
    const admin = { key: a.adminKey };
    const keyRes = await http(`${a.url}/v1/keys`, { ...admin, json: { tenant: 'acme', scopes: ['admin'] } });
    const acmeKey = keyRes.body.key as string;
    const services = ['checkout', 'search', 'cart'].map((n) => `apiVersion: keel/v1\nkind: Service\nmetadata:\n  name: ${n}\n`).join('---\n');
    expect((await http(`${a.url}/v1/definitions/apply`, { key: acmeKey, json: { sources: [{ file: 's.yaml', content: services }] } })).status).toBe(200);
    expect((await http(`${a.url}/v1/users`, { key: acmeKey, json: { email: 'ops@acme.test', name: 'Ops', role: 'admin', password: 'restored passphrase' } })).status).toBe(201);
    expect(
      (
        await http(`${a.url}/v1/sso/providers/corp`, {
          method: 'PUT',
          ...admin,
          json: { issuer: 'https://idp.example.com', client_id: 'k', client_secret: 'sealed-sso-secret', default_team: 'acme', default_role: 'viewer' },
        })
      ).status,
    ).toBe(200);

    // Load: batches of 200 events, each event with a unique marker; remember when each was acknowledged.
    const acked: { marker: string; at: number }[] = [];
    let stop = false;
    let batchNo = 0;
    const loaders = Array.from({ length: 3 }, async (_, w) => {
      while (!stop) {
        const markers = Array.from({ length: 200 }, (_, i) => `w${w}-b${batchNo}-${i}`);
        batchNo++;
        const r = await http(`${a.url}/v1/events`, { key: acmeKey, body: ndjson(markers.map((marker) => ({ marker, service: 'checkout' }))), headers: { 'content-type': 'application/x-ndjson' } });
        if (r.status === 202) {
          const at = Date.now();
          for (const marker of markers) acked.push({ marker, at });
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    const backupStarted = Date.now();
    const file = join(work, 'keel.backup');
    const backup = await keelCli(['backup', file, '--json'], { url: a.url, key: a.adminKey });
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(loaders);
    expect(backup.code, backup.stderr).toBe(0);
    const summary = JSON.parse(backup.stdout);
    expect(summary.bytes).toBe(statSync(file).size);
    const before = acked.filter((x) => x.at < backupStarted).map((x) => x.marker);
    expect(before.length).toBeGreaterThan(1000);
    expect(acked.length).toBeGreaterThan(before.length); // the load went on during the backup

    const listed = await http(`${a.url}/v1/backups`, admin);
    expect(listed.body.backups[0]).toMatchObject({ id: summary.id, sha256: summary.sha256, bytes: summary.bytes, actor: `key:${keyPrefix(a.adminKey)}` });
    const names = listed.body.backups[0].files.map((f: any) => f.name) as string[];
    // The two databases, then the log's segment files (batch data) the copied index points into.
    expect(names.slice(0, 2)).toEqual(['state.db', 'log.db']);
    expect(names.length).toBeGreaterThan(2);
    for (const n of names.slice(2)) expect(n).toMatch(/^segment-\d{12}\.seg$/);

    // The backup holds no key: a restore without one is warned, a wrong one refused.
    const manifest = JSON.parse(readFileSync(file).subarray(0, 4096).toString('utf8').split('\n')[1]!);
    expect(manifest.secret_key).toMatchObject({ included: false, sealed_values: 1 });
    expect(readFileSync(file).includes(Buffer.from(readFileSync(join(a.dataDir, 'secret.key'), 'utf8').trim()))).toBe(false);
    const wrongKey = join(work, 'wrong.key');
    writeFileSync(wrongKey, `${Buffer.alloc(32, 7).toString('base64')}\n`);
    const refused = await keelCli(['restore', file, '--data-dir', join(work, 'r0'), '--secret-key-file', wrongKey]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/lacks the key\(s\) .* that sealed secrets in this backup/);

    const fresh = join(work, 'restored');
    const restored = await keelCli(['restore', file, '--data-dir', fresh, '--secret-key-file', join(a.dataDir, 'secret.key')]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`into ${fresh}; secret key restored`);
    // Private like any data dir Keel makes (issue 10 item 10).
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
    for (const f of ['state.db', 'log.db', 'secret.key']) expect(statSync(join(fresh, f)).mode & 0o777, f).toBe(0o600);
    const again = await keelCli(['restore', file, '--data-dir', fresh]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is not empty; restore only into a new or empty directory');
    await a.stop('SIGTERM');

    const b = await spawnKeel({ dataDir: fresh, adminKey: a.adminKey });
    procs.push(b);
    const markers = await readAllMarkers(b.url, acmeKey);
    const missing = before.filter((m) => !markers.has(m));
    expect(missing).toEqual([]);
    const defs = await http(`${b.url}/v1/definitions`, { key: acmeKey });
    expect(defs.body.definitions.map((d: any) => d.name).sort()).toEqual(['cart', 'checkout', 'search']);
    expect((await http(`${b.url}/v1/auth/sign-in`, { json: { email: 'ops@acme.test', password: 'restored passphrase' } })).status).toBe(200);
    const secrets = await http(`${b.url}/v1/secrets/status`, { key: a.adminKey });
    expect(secrets.body).toMatchObject({ total_values: 1, unreadable: 0 });
    const chain = await http(`${b.url}/v1/audit/verify`, { key: a.adminKey });
    expect(chain.body.ok).toBe(true);
  });

  it('refuses a damaged or foreign backup file with a clear message', async () => {
    const file = join(work, 'keel.backup');
    const bytes = readFileSync(file);
    const cut = join(work, 'cut.backup');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const r1 = await keelCli(['restore', cut, '--data-dir', join(work, 'r1')]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/truncated or has extra data/);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 10] = flipped[flipped.length - 10]! ^ 0xff;
    const bad = join(work, 'flipped.backup');
    writeFileSync(bad, flipped);
    const r2 = await keelCli(['restore', bad, '--data-dir', join(work, 'r2')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/segment-\d{12}\.seg in the backup is damaged: sha256/);
    const foreign = join(work, 'foreign.backup');
    writeFileSync(foreign, 'SQLite format 3\u0000');
    const r3 = await keelCli(['restore', foreign, '--data-dir', join(work, 'r3')]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/is not a Keel backup/);
    // All or nothing: a refused restore leaves no data dir and no partial files behind, and an
    // empty directory given as the target stays empty.
    for (const dir of ['r1', 'r2', 'r3']) expect(existsSync(join(work, dir)), dir).toBe(false);
    const empty = join(work, 'empty-target');
    mkdirSync(empty);
    const r4 = await keelCli(['restore', bad, '--data-dir', empty]);
    expect(r4.code).toBe(2);
    expect(readdirSync(empty)).toEqual([]);
    const nested = join(work, 'new-parent', 'child');
    expect((await keelCli(['restore', bad, '--data-dir', nested])).code).toBe(2);
    expect(existsSync(join(work, 'new-parent'))).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('restoring'))).toEqual([]);
    // A data dir an older, interrupted restore left partial files in is refused, not started empty.
    const partial = join(work, 'partial');
    mkdirSync(partial);
    writeFileSync(join(partial, 'state.db'), '');
    writeFileSync(join(partial, '.log.db.restoring'), '');
    const start = await runCli(['start', '--data-dir', partial, '--port', String(await freePort())], { env: { KEEL_SECRET_KEY: '' } });
    expect(start.code).toBe(2);
    expect(start.stderr).toContain('.log.db.restoring, left by a restore that did not finish, so its data is partial. Fix: restore the backup again into a new directory');
  });

  it('start refuses a data dir whose sealed secrets its key cannot open, unless told to go on', async () => {
    const file = join(work, 'keel.backup');
    const dir = join(work, 'no-key');
    const restored = await keelCli(['restore', file, '--data-dir', dir]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr + restored.stdout).toMatch(/holds 1 sealed secret\(s\) under key\(s\) .*Keel starts only with that key/);
    const port = await freePort();
    const noEnv = { KEEL_SECRET_KEY: '', KEEL_BOOTSTRAP_KEY: '' };
    // The key file is missing: no new key is made in its place.
    const missing = await runCli(['start', '--data-dir', dir, '--port', String(port)], { env: noEnv });
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toMatch(/refusing to start: the secret key file .*secret\.key is missing, but 1 stored secret\(s\) are sealed with key\(s\) \S+/);
    expect(missing.stderr).toContain('Fix: put back the key that sealed them');
    expect(missing.stderr).toContain('--allow-unreadable-secrets');
    expect(existsSync(join(dir, 'secret.key'))).toBe(false);
    // A wrong key is refused the same way.
    const wrong = await runCli(['start', '--data-dir', dir, '--port', String(port)], { env: { ...noEnv, KEEL_SECRET_KEY: Buffer.alloc(32, 9).toString('base64') } });
    expect(wrong.code, wrong.stderr).toBe(2);
    expect(wrong.stderr).toMatch(/the secret key in KEEL_SECRET_KEY .* cannot open 1 stored secret\(s\)/);
    // Told explicitly, it starts, and says what cannot be read.
    const b = await spawnKeel({ dataDir: dir, port, args: ['--allow-unreadable-secrets'], env: noEnv, keepDataDir: true });
    procs.push(b);
    expect((await http(`${b.url}/v1/keys`, { key: backedUpAdminKey })).status).toBe(200);
    const status = await http(`${b.url}/v1/secrets/status`, { key: backedUpAdminKey });
    expect(status.body).toMatchObject({ total_values: 1, unreadable: 1 });
    expect(existsSync(join(dir, 'secret.key'))).toBe(true);
  });
});
