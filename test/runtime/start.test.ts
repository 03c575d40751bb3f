/** `keel start` as a user runs it: first-start bootstrap key, logs, config errors. */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
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
});
