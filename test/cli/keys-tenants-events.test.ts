import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
});
afterAll(async () => t?.close());

describe('keel keys', () => {
  it('creates a key shown once, lists it by prefix only, and revokes it', async () => {
    const created = await runCli(['keys', 'create', '--tenant', 'shop', '--scopes', 'ingest,read', '--name', 'collector'], { url: t.url, key: t.adminKey });
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^keel_[0-9A-Za-z]{40}$/);
    expect(created.stderr).toContain('created tenant "shop"');
    expect((await http(`${t.url}/v1/events`, { method: 'POST', key, body: '{"a":1}\n', headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);

    const list = await runCli(['keys', 'list', '--json'], { url: t.url, key: t.adminKey });
    expect(list.code).toBe(0);
    const keys = JSON.parse(list.stdout).keys as { id: string; prefix: string; tenant: string; name: string }[];
    const mine = keys.find((k) => k.name === 'collector')!;
    expect(mine.tenant).toBe('shop');
    expect(key.startsWith(mine.prefix)).toBe(true);
    expect(list.stdout).not.toContain(key);
    const table = await runCli(['keys', 'list'], { url: t.url, key: t.adminKey });
    expect(table.stdout).toContain(`${mine.prefix}…`);

    const revoked = await runCli(['keys', 'revoke', mine.id], { url: t.url, key: t.adminKey });
    expect(revoked.code).toBe(0);
    const after = await http(`${t.url}/v1/events`, { method: 'POST', key, body: '{"a":1}\n', headers: { 'content-type': 'application/x-ndjson' } });
    expect(after.status).toBe(401);
    const gone = await runCli(['keys', 'list', '--json'], { url: t.url, key: t.adminKey });
    expect(JSON.parse(gone.stdout).keys.some((k: { id: string }) => k.id === mine.id)).toBe(false);
  });

  it('refuses bad scopes with exit code 1 and a precise message', async () => {
    const r = await runCli(['keys', 'create', '--tenant', 'shop', '--scopes', 'ingest,superpowers'], { url: t.url, key: t.adminKey });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('scopes[1]');
  });

  it('exits 3 when Keel is unreachable and 2 on bad usage', async () => {
    const r = await runCli(['keys', 'list'], { url: 'http://127.0.0.1:1', key: 'x' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot reach Keel');
    const u = await runCli(['keys', 'create'], { url: t.url, key: t.adminKey });
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("required option '-s, --scopes <scopes>'");
    const help = await runCli(['keys', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--tenant');
  });

  it('keeps non-system admins inside their own tenant', async () => {
    const admin = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'team-a', scopes: ['admin'] } })).body.key as string;
    await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'team-b', scopes: ['read'] } });
    const other = await http(`${t.url}/v1/keys`, { key: admin, json: { tenant: 'team-b', scopes: ['ingest'] } });
    expect(other.status).toBe(404);
    const list = await http(`${t.url}/v1/keys?tenant=team-b`, { key: admin });
    expect(list.status).toBe(404);
    const own = await http(`${t.url}/v1/keys`, { key: admin });
    expect(own.body.keys.every((k: { tenant: string }) => k.tenant === 'team-a')).toBe(true);
    const tenants = await http(`${t.url}/v1/tenants`, { key: admin });
    expect(tenants.body.tenants.map((x: { id: string }) => x.id)).toEqual(['team-a']);
    const quota = await http(`${t.url}/v1/tenants/team-a`, { method: 'PATCH', key: admin, json: { eventsPerSecond: 1e9 } });
    expect(quota.status).toBe(403);
  });
});

describe('keel tenants and quotas', () => {
  it('sets a quota from the CLI and answers 429 with Retry-After over it', async () => {
    const created = await runCli(['tenants', 'create', 'tiny', '--rate', '10', '--burst', '20'], { url: t.url, key: t.adminKey });
    expect(created.code).toBe(0);
    const key = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'tiny', scopes: ['ingest', 'read'] } })).body.key as string;
    const send = (n: number) => http(`${t.url}/v1/events`, { method: 'POST', key, body: ndjson(Array.from({ length: n }, (_, i) => ({ i }))), headers: { 'content-type': 'application/x-ndjson' } });
    expect((await send(20)).status).toBe(202);
    const over = await send(5);
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(over.body.error.message).toContain('10 events/s');
    // Nothing of the refused request was stored.
    const stored = await http(`${t.url}/v1/events?limit=100`, { key });
    expect(stored.body.events).toHaveLength(20);
    const paused = await runCli(['tenants', 'update', 'tiny', '--pause'], { url: t.url, key: t.adminKey });
    expect(paused.code).toBe(0);
    const p = await send(1);
    expect(p.status).toBe(429);
    expect(p.body.error.message).toContain('paused');
    const list = await runCli(['tenants', 'list', '--json'], { url: t.url, key: t.adminKey });
    expect(JSON.parse(list.stdout).tenants.find((x: { id: string }) => x.id === 'tiny')).toMatchObject({ events_per_second: 10, burst: 20, paused: true });
  });
});

describe('keel events', () => {
  it('sends NDJSON from stdin, lists it back, and tails new events', async () => {
    const key = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'cli-events', scopes: ['ingest', 'read'] } })).body.key as string;
    const sent = await runCli(['events', 'send', '--batch', '2'], { url: t.url, key, input: ndjson([{ n: 1 }, { n: 2 }, { n: 3 }]) + 'not json\n' });
    expect(sent.code).toBe(1);
    expect(sent.stdout).toContain('3 accepted, 1 rejected');
    expect(sent.stderr).toContain('line 4: invalid JSON');
    const list = await runCli(['events', 'list', '--limit', '10'], { url: t.url, key });
    expect(list.code).toBe(0);
    expect(
      list.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).n),
    ).toEqual([1, 2, 3]);

    const { spawn } = await import('node:child_process');
    const { KEEL_BIN } = await import('../helpers/cli.js');
    const tail = spawn(process.execPath, [KEEL_BIN, 'events', 'tail'], { env: { ...process.env, KEEL_URL: t.url, KEEL_API_KEY: key } });
    let out = '';
    let err = '';
    tail.stdout.on('data', (d: Buffer) => (out += d.toString()));
    tail.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const ready = Date.now() + 30_000;
    while (!err.includes('following events after cursor') && Date.now() < ready) await new Promise((r) => setTimeout(r, 50));
    await http(`${t.url}/v1/events`, { method: 'POST', key, body: ndjson([{ n: 'live' }]), headers: { 'content-type': 'application/x-ndjson' } });
    const deadline = Date.now() + 15_000;
    while (!out.includes('live') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    tail.kill('SIGINT');
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).n),
    ).toEqual(['live']);
  });
});

describe('keel --help', () => {
  it('never prints the API key from the environment', async () => {
    const r = await runCli(['keys', 'list', '--help'], { key: 'keel_this_must_not_be_printed_0000' });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('keel_this_must_not_be_printed_0000');
    expect(r.stdout).toContain('--api-key');
  });
});
