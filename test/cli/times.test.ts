/** Issue 10 item 14: the times users type, one parser for every CLI option and route. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
});
afterAll(async () => t?.close());

describe('times where a user types them', () => {
  it('keel incidents metrics --from 2026-11-01 (the README example) reads a calendar date', async () => {
    const r = await runCli(['incidents', 'metrics', '--from', '2026-11-01', '--to', '2026-12-01', '--json'], { url: t.url, key: t.adminKey });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { from: string; to: string };
    expect(body.from).toBe('2026-11-01T00:00:00.000Z');
    expect(body.to).toBe('2026-12-01T00:00:00.000Z');
  });

  it('relative forms work in the CLI and in every route', async () => {
    for (const from of ['7d', 'now-24h']) {
      const r = await runCli(['events', 'list', '--from', from], { url: t.url, key: t.adminKey });
      expect(r.code, r.stderr).toBe(0);
    }
    for (const path of ['/v1/events?from=7d', '/v1/incidents/metrics?from=now-30d', '/v1/usage?from=2h', '/v1/audit?since=2026-11-01', '/v1/incidents?from=7d']) {
      const res = await http(`${t.url}${path}`, { key: t.adminKey });
      expect(res.status, `${path}: ${res.text}`).toBe(200);
    }
  });

  it('a time that is none of the forms is a usage error in the CLI and a 400 naming the field in the API', async () => {
    const r = await runCli(['incidents', 'metrics', '--from', 'yesterday'], { url: t.url, key: t.adminKey });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--from <time>' argument 'yesterday' is invalid");
    expect(r.stderr).toContain('a date (2026-11-01)');
    const res = await http(`${t.url}/v1/events?to=yesterday`, { key: t.adminKey });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^to: must be an RFC 3339 time/);
  });
});
