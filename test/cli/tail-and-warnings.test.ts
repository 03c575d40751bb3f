/**
 * Issue 10 item 17: `keel events tail` stops on Ctrl-C while its long poll is in flight, and the
 * embedded server adds no listener per loop pass (no MaxListenersExceededWarning).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnKeel } from '../../src/bench/spawn-keel.js';
import { KEEL_BIN } from '../helpers/cli.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { startProxy } from '../helpers/proxy.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
});
afterAll(async () => t?.close());

const until = async (what: string, check: () => boolean) => {
  // Bounded by the test's timeout, not by a threshold of its own.
  while (!check()) await new Promise((r) => setTimeout(r, 50));
  return what;
};

describe('keel events tail and Ctrl-C', () => {
  it('SIGINT aborts the long poll in flight: tail exits 0 and says where to continue', async () => {
    // The long poll never gets an answer here: only aborting it lets tail end.
    const proxy = await startProxy(t.url, (req) => (req.url.includes('wait=10') ? 'hold' : 'pass'));
    try {
      const tail = spawn(process.execPath, [KEEL_BIN, 'events', 'tail'], { env: { ...process.env, KEEL_URL: proxy.url, KEEL_API_KEY: t.adminKey }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      tail.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => tail.on('exit', (code, signal) => resolve({ code, signal })));
      await until('announced', () => err.includes('following events after cursor'));
      await until('long poll held', () => proxy.seen.some((s) => s.url.includes('wait=10')));
      tail.kill('SIGINT');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(err).toMatch(/stopped; continue with --cursor \S+\n$/);
    } finally {
      await proxy.close();
    }
  });
});

describe('the embedded server under a workload', () => {
  it('prints no MaxListenersExceededWarning (no abort listener left behind per loop pass)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-listeners-'));
    const config = join(dir, 'keel.yaml');
    // The usage retention loop passes every 10 ms: dozens of passes while the workload runs.
    writeFileSync(config, 'capacity:\n  retentionInterval: 10ms\n');
    const keel = await spawnKeel({ args: ['-c', config], env: { KEEL_LOG_LEVEL: 'debug' }, captureStdout: true });
    try {
      for (let i = 0; i < 20; i++) {
        const r = await http(`${keel.url}/v1/events`, { method: 'POST', key: keel.adminKey, body: ndjson([{ i }]), headers: { 'content-type': 'application/x-ndjson' } });
        expect(r.status).toBe(202);
        expect((await http(`${keel.url}/v1/events?limit=1`, { key: keel.adminKey })).status).toBe(200);
      }
      await until('40 retention passes', () => (keel.stdout().match(/usage retention pass/g) ?? []).length >= 40);
    } finally {
      await keel.stop();
      keel.cleanup();
    }
    expect(keel.stderr()).not.toContain('MaxListenersExceededWarning');
  });
});
