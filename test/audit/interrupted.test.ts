/**
 * No state change goes unaudited when the process stops in the middle of a request: each
 * state-changing request is noted before its handler runs, and a note left by a stopped process
 * becomes an entry whose outcome is unknown when Keel starts again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { http, startTestKeel } from '../helpers/keel.js';

const dirs: string[] = [];
const procs: KeelProcess[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL').catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function allEntries(url: string, key: string, action: string): Promise<any[]> {
  const out: any[] = [];
  let after = 0;
  for (;;) {
    const r = await http(`${url}/v1/audit?action=${action}&limit=1000&after=${after}`, { key });
    expect(r.status).toBe(200);
    out.push(...r.body.entries);
    if (r.body.next_after === null) return out;
    after = r.body.next_after;
  }
}

describe('audit of interrupted requests', () => {
  it('leaves no note behind a finished request, and none for a refused one', async () => {
    const t = await startTestKeel();
    try {
      const ok = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'default', scopes: ['read'] } });
      expect(ok.status).toBe(201);
      const refused = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'default', scopes: ['nope'] } });
      expect(refused.status).toBe(400);
      const db = new Database(join(t.dataDir, 'state.db'), { readonly: true });
      try {
        expect(db.prepare('SELECT COUNT(*) AS n FROM audit_pending').get()).toEqual({ n: 0 });
      } finally {
        db.close();
      }
      const entries = await allEntries(t.url, t.adminKey, 'keys.create');
      expect(entries.filter((e) => e.target === `key/${ok.body.id}`)).toHaveLength(1);
      expect(entries.every((e) => e.ok)).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('records a request a stopped process left unfinished as an entry with an unknown outcome, chain intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-audit-stop-'));
    dirs.push(dir);
    const first = await startTestKeel({}, { dataDir: dir });
    await first.close();
    // What a process killed between its note and its entry leaves in the store.
    const db = new Database(join(dir, 'state.db'));
    db.prepare('INSERT INTO audit_pending (id, at, actor, action, tenant_id, target, source_ip, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      'left-behind',
      Date.now() - 1_000,
      'key:keel_abc123',
      'tenants.update',
      'acme',
      '/v1/tenants/acme',
      '10.0.0.7',
      'req-42',
    );
    db.close();
    const again = await startTestKeel({}, { dataDir: dir });
    try {
      const [entry] = await allEntries(again.url, again.adminKey, 'tenants.update');
      expect(entry).toMatchObject({ actor: 'key:keel_abc123', tenant: 'acme', target: '/v1/tenants/acme', source_ip: '10.0.0.7', request_id: 'req-42', ok: false });
      expect(entry.after).toMatchObject({ outcome: 'unknown' });
      const verify = await http(`${again.url}/v1/audit/verify`, { key: again.adminKey });
      expect(verify.body.ok).toBe(true);
    } finally {
      await again.close();
    }
  });

  it('after SIGKILL landing mid-request in a burst of changes, every key that exists has an audit entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-audit-kill-'));
    dirs.push(dir);
    const admin = 'keel_audit_kill_test_admin_key_0123456789';
    const pendingIn = (db: Database.Database) => (db.prepare('SELECT COUNT(*) AS n FROM audit_pending').get() as { n: number }).n;
    const burstKeysIn = (db: Database.Database) => (db.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE name LIKE 'burst-%'").get() as { n: number }).n;
    let keel = await spawnKeel({ dataDir: dir, adminKey: admin, keepDataDir: true });
    procs.push(keel);
    // The kill must land while requests are between their note and their entry: watch the notes
    // from outside and kill on seeing one; what the dead process left in the file proves it did.
    // (Should every noted request finish in the instant before the kill, the burst is repeated.)
    // It also waits for a first key of the burst to exist, so there are keys whose entries to
    // check: on a loaded machine the first note can come before any key is committed.
    let interrupted = 0;
    for (let attempt = 0; attempt < 5 && interrupted === 0; attempt++) {
      const watch = new Database(join(dir, 'state.db'), { readonly: true });
      const burst = Array.from({ length: 120 }, (_, i) =>
        http(`${keel.url}/v1/keys`, { key: admin, json: { tenant: 'default', scopes: ['read'], name: `burst-${attempt}-${i}` } }).catch(() => undefined),
      );
      try {
        await waitFor('a request in flight after a first key', () => burstKeysIn(watch) > 0 && pendingIn(watch) > 0);
        await keel.stop('SIGKILL');
      } finally {
        watch.close();
      }
      await Promise.all(burst);
      const left = new Database(join(dir, 'state.db'), { readonly: true });
      try {
        interrupted = pendingIn(left);
      } finally {
        left.close();
      }
      keel = await spawnKeel({ dataDir: dir, adminKey: admin, keepDataDir: true });
      procs.push(keel);
    }
    expect(interrupted, 'the kill landed while a request was in flight').toBeGreaterThan(0);
    const keys = (await http(`${keel.url}/v1/keys`, { key: admin })).body.keys as { id: string; name: string }[];
    const created = keys.filter((k) => k.name?.startsWith('burst-'));
    const entries = await allEntries(keel.url, admin, 'keys.create');
    const audited = new Set(entries.filter((e) => e.ok).map((e) => e.target));
    const unknown = entries.filter((e) => !e.ok && e.after?.outcome === 'unknown').length;
    // Every request the kill interrupted became an entry with an unknown outcome...
    expect(unknown).toBe(interrupted);
    // ...and each created key has its own entry, or is one of those.
    const missing = created.filter((k) => !audited.has(`key/${k.id}`));
    expect(created.length).toBeGreaterThan(0);
    expect(missing.length).toBeLessThanOrEqual(unknown);
    expect((await http(`${keel.url}/v1/audit/verify`, { key: admin })).body.ok).toBe(true);
  }, 120_000);
});

async function waitFor(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
