/** Issue 10 item 12: `keel events send` for bulk loads: retries, idempotency keys, resume. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { startProxy } from '../helpers/proxy.js';

let t: TestKeel;
let dir: string;
beforeAll(async () => {
  t = await startTestKeel();
  dir = mkdtempSync(join(tmpdir(), 'keel-send-'));
});
afterAll(async () => t?.close());

async function tenantKey(tenant: string, rate?: number): Promise<string> {
  if (rate) expect((await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: tenant, eventsPerSecond: rate, burst: rate } })).status).toBe(201);
  return (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant, scopes: ['ingest', 'read'] } })).body.key as string;
}

const line = (i: number) => `{"i":${i},"ts":"2026-11-15T12:00:00Z"}\n`;

function file(name: string, from: number, n: number): string {
  const path = join(dir, name);
  writeFileSync(path, range(from, n).map(line).join(''));
  return path;
}

/** Bytes of the first n lines of a file written by file(name, 0, …). */
const bytesOf = (n: number) => Buffer.byteLength(range(0, n).map(line).join(''));

async function stored(key: string): Promise<number[]> {
  const res = await http(`${t.url}/v1/events?limit=10000`, { key });
  return (res.body.events as { i: number }[]).map((e) => e.i);
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('keel events send for bulk loads', () => {
  it('rides out 429s by honouring Retry-After, and a re-run stores nothing twice', async () => {
    const key = await tenantKey('bulk', 200);
    const path = file('bulk.ndjson', 0, 1000);
    const args = ['events', 'send', '--batch', '100', path, '--json'];
    const first = await runCli(args, { url: t.url, key, cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({ sent: 1000, accepted: 1000, rejected: 0, batches: 10 });
    // 1000 events over a 200/s quota with a 200 burst: the quota answered 429 and the send waited.
    expect(summary.retries).toBeGreaterThan(0);
    // Not a terminal: no progress lines, nothing on stderr at all.
    expect(first.stderr).toBe('');
    expect((await stored(key)).sort((a, b) => a - b)).toEqual(range(0, 1000));

    const again = await runCli(args, { url: t.url, key, cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ sent: 1000, accepted: 1000 });
    expect(await stored(key)).toHaveLength(1000);
  });

  it('retries a dropped connection and a 503 with the same Idempotency-Key: each batch stored once', async () => {
    const key = await tenantKey('flaky');
    const path = file('flaky.ndjson', 0, 30);
    const proxy = await startProxy(t.url, (_req, n) =>
      n === 3 ? 'drop' : n === 4 ? { status: 503, headers: { 'retry-after': '0' }, body: '{"error":{"code":"unavailable","message":"log over its disk limit"}}' } : 'pass',
    );
    try {
      const r = await runCli(['events', 'send', '--batch', '10', path], { url: proxy.url, key, cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('30 events in 3 batches: 30 accepted, 0 rejected; 2 retries\n');
      const keys = proxy.seen.map((s) => s.headers['idempotency-key']);
      expect(keys.every((k) => typeof k === 'string' && /^keel-send-[0-9a-f]{64}$/.test(k))).toBe(true);
      // Requests: batch 1, batch 2, batch 3 dropped, batch 3 again (503), batch 3 again (stored): 5.
      expect(proxy.seen).toHaveLength(5);
      expect(new Set(keys).size).toBe(3);
      expect(keys[2]).toBe(keys[3]);
      expect(keys[3]).toBe(keys[4]);
    } finally {
      await proxy.close();
    }
    expect((await stored(key)).sort((a, b) => a - b)).toEqual(range(0, 30));
  });

  it('resumes after an interrupted load from the state file, sending only what was not acknowledged', async () => {
    const key = await tenantKey('resume');
    const path = file('resume.ndjson', 0, 50);
    const state = join(dir, 'resume-state.json');
    // The third batch gets an answer that is not retried: the send stops there.
    const failing = await startProxy(t.url, (_req, n) => (n === 3 ? { status: 400, body: '{"error":{"code":"bad_request","message":"refused by the test"}}' } : 'pass'));
    try {
      const r = await runCli(['events', 'send', '--batch', '10', '--state', state, path], { url: failing.url, key, cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`stopped at byte ${bytesOf(20)} of ${path}; run again with --resume`);
      expect(r.stderr).toContain('refused by the test');
    } finally {
      await failing.close();
    }
    expect(await stored(key)).toHaveLength(20);
    const recorded = JSON.parse(readFileSync(state, 'utf8'));
    expect(Object.values(recorded.files)).toEqual([expect.objectContaining({ offset: bytesOf(20), line: 20, accepted: 20, done: false })]);

    const counting = await startProxy(t.url, () => 'pass');
    try {
      const r = await runCli(['events', 'send', '--batch', '10', '--state', state, '--resume', path, '--json'], { url: counting.url, key, cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ sent: 30, accepted: 30, batches: 3, skipped_bytes: bytesOf(20) });
      // Only the three batches after the acknowledged offset were sent.
      expect(counting.seen.filter((s) => s.method === 'POST')).toHaveLength(3);
      expect(counting.seen[0]!.body.toString()).toMatch(/^\{"i":20,/);
    } finally {
      await counting.close();
    }
    expect((await stored(key)).sort((a, b) => a - b)).toEqual(range(0, 50));
    // Resumed again once complete: nothing left to send.
    const done = await runCli(['events', 'send', '--batch', '10', '--state', state, '--resume', path], { url: t.url, key, cwd: dir });
    expect(done.code).toBe(0);
    expect(done.stdout).toBe(`0 events in 0 batches: 0 accepted, 0 rejected; resumed after ${bytesOf(50)} acknowledged bytes\n`);
    expect(await stored(key)).toHaveLength(50);
  });

  it('refuses --resume for standard input (it cannot be read again from an offset)', async () => {
    const r = await runCli(['events', 'send', '--resume'], { url: t.url, key: t.adminKey, input: '{"a":1}\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--resume needs files');
  });
});
