/** The runbooks shipped for Keel's own alerts (examples/runbooks/) apply, and dry-run with every template resolved. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';

const DIR = join(import.meta.dirname, '../../examples/runbooks');
let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
  // The secret the examples read Keel's API with.
  expect((await http(`${t.url}/v1/paging/secrets`, { key: t.adminKey, json: { name: 'keel-ops-key', value: 'keel_example_key_0000' } })).status).toBeLessThan(300);
});
afterAll(async () => {
  await t?.close();
});

const PARAMS: Record<string, Record<string, string>> = {
  'keel-data-disk-filling': {},
  'keel-consumer-lag': { tenant: 'acme' },
  'keel-notification-channel-failing': { endpoint: 'https://hooks.example.com' },
  'keel-leader-lost': { namespace: 'prod' },
};

describe('examples/runbooks', () => {
  it('ships one runbook per alert named in the issue, each applying cleanly', async () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(files).toEqual(['keel-consumer-lag.yaml', 'keel-data-disk-filling.yaml', 'keel-leader-lost.yaml', 'keel-notification-channel-failing.yaml']);
    const r = await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: files.map((f) => ({ file: f, content: readFileSync(join(DIR, f), 'utf8') })) } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // The secret they name cannot be deleted from under them.
    const del = await http(`${t.url}/v1/paging/secrets/keel-ops-key`, { method: 'DELETE', key: t.adminKey });
    expect(del.status).toBe(409);
    expect(del.body.error.message).toBe('secret keel-ops-key is used by Runbook keel-consumer-lag, Runbook keel-data-disk-filling, Runbook keel-leader-lost; change them first');
  });

  it('dry-runs each with every parameter and template resolved and nothing run', async () => {
    const inc = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'paging broken', page: false } });
    for (const [name, params] of Object.entries(PARAMS)) {
      const r = await http(`${t.url}/v1/runbooks/${name}/runs`, { key: t.adminKey, json: { params, dry_run: true, incident: String(inc.body.number) } });
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(200);
      const text = JSON.stringify(r.body.steps);
      // Only outputs of earlier steps stay unresolved in a dry run; secrets are never shown.
      for (const m of text.matchAll(/<((?:params|steps|alert|incident|run|secrets)\.[A-Za-z0-9_.-]+)>/g)) expect(m[1], name).toMatch(/^steps\./);
      expect(text).not.toContain('keel_example_key');
    }
    const disk = await http(`${t.url}/v1/runbooks/keel-data-disk-filling/runs`, { key: t.adminKey, json: { dry_run: true } });
    expect(disk.body.steps[0].resolved.argv).toEqual(['/usr/bin/du', '-sh', '/var/lib/keel', '/var/backups/keel']);
    expect(disk.body.steps[1].resolved.headers).toEqual({ Authorization: 'Bearer [secret keel-ops-key]' });
    expect((await http(`${t.url}/v1/runbooks/runs`, { key: t.adminKey })).body.runs).toEqual([]);
  });
});
