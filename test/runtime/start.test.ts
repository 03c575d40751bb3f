/** `keel start` as a user runs it: first-start bootstrap key, logs, config errors. */
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, KEEL_BIN, waitReady } from '../../src/bench/spawn-keel.js';
import { runCli } from '../helpers/cli.js';

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  // A failed assertion must not leave a server running.
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function start(dataDir: string, port: number, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [KEEL_BIN, 'start', '--data-dir', dataDir, '--port', String(port)], {
    env: { ...process.env, KEEL_BOOTSTRAP_KEY: '', ...env },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, out: () => stdout, err: () => stderr };
}

async function stop(child: ReturnType<typeof spawn>) {
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

describe('keel start', () => {
  it('prints an admin key once on first start, never to the log, and not again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-start-'));
    try {
      const port = await freePort();
      const first = start(dir, port);
      await waitReady(`http://127.0.0.1:${port}`, 20_000, first.child);
      const key = /\n {4}(keel_[0-9A-Za-z]{40})\n/.exec(first.err())?.[1];
      expect(key).toBeDefined();
      const me = await request(`http://127.0.0.1:${port}/v1/keys`, { headers: { authorization: `Bearer ${key}` } });
      expect(me.statusCode).toBe(200);
      await me.body.text();
      await stop(first.child);
      // stdout is the JSON log: one object per line, and the key is nowhere in it.
      const lines = first.out().trim().split('\n');
      for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
      expect(lines.some((l) => JSON.parse(l).msg === 'keel started')).toBe(true);
      expect(first.out()).not.toContain(key!);

      const second = start(dir, port);
      await waitReady(`http://127.0.0.1:${port}`, 20_000, second.child);
      await stop(second.child);
      expect(second.err()).not.toContain('admin API key');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses KEEL_BOOTSTRAP_KEY as the first key and refuses a short one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-start-'));
    try {
      const port = await freePort();
      const s = start(dir, port, { KEEL_BOOTSTRAP_KEY: 'my-known-key-for-automation' });
      await waitReady(`http://127.0.0.1:${port}`, 20_000, s.child);
      const r = await request(`http://127.0.0.1:${port}/v1/tenants`, { headers: { authorization: 'Bearer my-known-key-for-automation' } });
      expect(r.statusCode).toBe(200);
      await r.body.text();
      await stop(s.child);
      expect(s.err()).not.toContain('my-known-key-for-automation');
      const dir2 = mkdtempSync(join(tmpdir(), 'keel-start-'));
      const short = await runCli(['start', '--data-dir', dir2, '--port', String(port)], { env: { KEEL_BOOTSTRAP_KEY: 'short' } });
      rmSync(dir2, { recursive: true, force: true });
      expect(short.code).toBe(2);
      expect(short.stderr).toContain('at least 16 characters');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad configuration file with the field and the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-start-'));
    try {
      writeFileSync(join(dir, 'keel.yaml'), 'ingest:\n  maxRequestBytes: 5 lightyears\n  colour: blue\n');
      const r = await runCli(['start', '--data-dir', dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('ingest.maxRequestBytes: "5 lightyears" is not a size');
      expect(r.stderr).toContain('unknown field(s): colour');
      writeFileSync(join(dir, 'keel.yaml'), 'ingest: [unclosed\n');
      const y = await runCli(['start', '--data-dir', dir]);
      expect(y.code).toBe(2);
      expect(y.stderr).toContain('not valid YAML');
      const port = await runCli(['start', '--data-dir', dir, '--port', '99999']);
      expect(port.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a port that is taken before it bootstraps anything, so the admin key is printed by the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-start-'));
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
    try {
      const clash = await runCli(['start', '--data-dir', dir, '--port', String(port)], { env: { KEEL_BOOTSTRAP_KEY: '', KEEL_SECRET_KEY: '' } });
      expect(clash.code).toBe(2);
      expect(clash.stderr).toContain(`error: 127.0.0.1:${port} is already in use (another Keel or another program): stop it, or start with --port <another port>. Nothing was set up.`);
      expect(clash.stderr).not.toContain('admin API key');
      await new Promise<void>((r) => squatter.close(() => r()));
      // Nothing was lost: the first start that can listen bootstraps and prints the key.
      const next = start(dir, port);
      await waitReady(`http://127.0.0.1:${port}`, 20_000, next.child);
      const key = /\n {4}(keel_[0-9A-Za-z]{40})\n/.exec(next.err())?.[1];
      expect(key, next.err()).toBeDefined();
      const me = await request(`http://127.0.0.1:${port}/v1/keys`, { headers: { authorization: `Bearer ${key}` } });
      expect(me.statusCode).toBe(200);
      await me.body.text();
      await stop(next.child);
    } finally {
      if (squatter.listening) squatter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the data dir private: the dir 0700, state files, their WAL/SHM files and the key 0600 (also on an older dir)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-start-'));
    try {
      chmodSync(dir, 0o755);
      // An older Keel left its files world-readable.
      writeFileSync(join(dir, 'state.db'), '', { mode: 0o644 });
      chmodSync(join(dir, 'state.db'), 0o644);
      const port = await freePort();
      const s = start(dir, port);
      await waitReady(`http://127.0.0.1:${port}`, 20_000, s.child);
      const mode = (f: string) => statSync(join(dir, f)).mode & 0o777;
      expect(mode('.')).toBe(0o700);
      const files = readdirSync(dir).filter((f) => f !== 'log.db.segments');
      expect(files).toEqual(expect.arrayContaining(['state.db', 'state.db-wal', 'state.db-shm', 'log.db', 'log.db-wal', 'log.db-shm', 'secret.key']));
      for (const f of files) expect(mode(f), f).toBe(0o600);
      expect(mode('log.db.segments')).toBe(0o700);
      for (const f of readdirSync(join(dir, 'log.db.segments'))) expect(mode(join('log.db.segments', f)), f).toBe(0o600);
      await stop(s.child);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('keel admin create-key', () => {
  it('mints a working key from the data dir, with or without the server running, and records it in the audit chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-admin-'));
    try {
      const port = await freePort();
      const first = start(dir, port, { KEEL_BOOTSTRAP_KEY: 'a-bootstrap-key-that-gets-lost' });
      await waitReady(`http://127.0.0.1:${port}`, 20_000, first.child);
      await stop(first.child);
      // The server is stopped and the bootstrap key is gone (forgotten): mint a new one.
      const minted = await runCli(['admin', 'create-key', '--data-dir', dir, '--name', 'recovery', '--json']);
      expect(minted.code, minted.stderr).toBe(0);
      const created = JSON.parse(minted.stdout) as { key: string; id: string; tenant: string; name: string; scopes: string[]; created_by: string; audit_seq: number };
      expect(created).toMatchObject({ tenant: 'default', name: 'recovery', scopes: ['admin'] });
      expect(created.created_by).toMatch(/^local:.+@.+$/);
      const second = start(dir, port);
      await waitReady(`http://127.0.0.1:${port}`, 20_000, second.child);
      const get = async (path: string, key: string) => {
        const r = await request(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${key}` } });
        return { status: r.statusCode, body: (await r.body.json()) as any };
      };
      const keys = await get('/v1/keys', created.key);
      expect(keys.status).toBe(200);
      expect(keys.body.keys.map((k: { name: string }) => k.name)).toContain('recovery');
      const audit = await get('/v1/audit?action=keys.create', created.key);
      expect(audit.status).toBe(200);
      const entry = audit.body.entries.find((e: { target: string }) => e.target === `key/${created.id}`);
      expect(entry).toMatchObject({ actor: created.created_by, action: 'keys.create', tenant: 'default' });
      expect((await get('/v1/audit/verify', created.key)).body.ok).toBe(true);
      // While the server runs, too; a key for another tenant with other scopes; human output.
      const live = await runCli(['admin', 'create-key', '--data-dir', dir, '--tenant', 'default', '--scopes', 'read']);
      expect(live.code, live.stderr).toBe(0);
      const readKey = /\n {4}(keel_[0-9A-Za-z]{40})\n/.exec(live.stdout)?.[1];
      expect(readKey, live.stdout).toBeDefined();
      expect((await get('/v1/events', readKey!)).status).toBe(200);
      expect((await get('/v1/keys', readKey!)).status).toBe(403);
      expect((await get('/v1/audit/verify', created.key)).body.ok).toBe(true);
      await stop(second.child);
      // Mistakes are usage errors that say what is wrong.
      const noTenant = await runCli(['admin', 'create-key', '--data-dir', dir, '--tenant', 'nope']);
      expect(noTenant.code).toBe(2);
      expect(noTenant.stderr).toContain('tenant "nope" does not exist in this data dir (tenants: default, keel-system)');
      const empty = mkdtempSync(join(tmpdir(), 'keel-admin-'));
      const noState = await runCli(['admin', 'create-key', '--data-dir', empty]);
      rmSync(empty, { recursive: true, force: true });
      expect(noState.code).toBe(2);
      expect(noState.stderr).toContain('holds no Keel state (no state.db)');
      expect(existsSync(join(empty, 'state.db'))).toBe(false);
      const help = await runCli(['admin', 'create-key', '--help']);
      expect(help.stdout).toContain('keel admin create-key --data-dir /var/lib/keel');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
