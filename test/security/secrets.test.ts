import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf } from '../../src/core/secrets.js';
import { keel as keelCli } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
const plain = Array.from({ length: 30 }, (_, i) => `webhook-secret-${i}-${Math.random().toString(36).slice(2)}`);
const ssoSecret = `sso-client-secret-${Math.random().toString(36).slice(2)}`;

function keyFileIds(): string[] {
  return readFileSync(join(t.dataDir, 'secret.key'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => keyIdOf(Buffer.from(l, 'base64')));
}

beforeAll(async () => {
  t = await startTestKeel();
  // A domain's sealed column, as paging's webhook targets will register one.
  const { db } = t.keel.store;
  await db.schema.createTable('test_webhooks').addColumn('tenant_id', 'text').addColumn('name', 'text').addColumn('secret', 'text').execute();
  t.keel.ctx.sealed.register({ table: 'test_webhooks', key: ['tenant_id', 'name'], column: 'secret', description: 'test webhook secrets' });
  for (const [i, p] of plain.entries()) {
    await (db as any)
      .insertInto('test_webhooks')
      .values({ tenant_id: i % 2 ? 'acme' : 'beta', name: `hook-${i}`, secret: t.keel.ctx.secrets.seal(p) })
      .execute();
  }
  await (db as any).insertInto('test_webhooks').values({ tenant_id: 'acme', name: 'none', secret: null }).execute();
  const put = await http(`${t.url}/v1/sso/providers/corp`, {
    method: 'PUT',
    key: t.adminKey,
    json: { issuer: 'https://idp.example.com', client_id: 'keel', client_secret: ssoSecret, default_team: 'acme', default_role: 'viewer' },
  });
  expect(put.status).toBe(200);
  expect(put.text).not.toContain(ssoSecret);
});
afterAll(async () => t?.close());

describe('stored secrets', () => {
  it('are sealed with AES-256-GCM in the database and reported by key, never shown', async () => {
    const rows = await (t.keel.store.db as any).selectFrom('test_webhooks').select('secret').where('secret', 'is not', null).execute();
    for (const r of rows) expect(r.secret).toMatch(/^v1:[A-Za-z0-9_-]{8}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    const s = await http(`${t.url}/v1/secrets/status`, { key: t.adminKey });
    expect(s.status).toBe(200);
    const current = t.keel.ctx.secrets.currentKeyId;
    expect(s.body).toMatchObject({ algorithm: 'AES-256-GCM', key_source: 'file', current_key_id: current, total_values: 31, under_older_keys: 0, unreadable: 0, not_sealed: 0 });
    expect(s.body.columns).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ table: 'sso_providers', column: 'client_secret', values: 1, by_key: { [current]: 1 } }),
        expect.objectContaining({ table: 'test_webhooks', column: 'secret', values: 30, by_key: { [current]: 30 } }),
      ]),
    );
    const audit = await http(`${t.url}/v1/audit?action=sso.provider_set`, { key: t.adminKey });
    expect(audit.text).not.toContain(ssoSecret);
  });

  it('rotate to a new key re-encrypts every value, keeps them readable, and retires the old key', async () => {
    const oldId = t.keel.ctx.secrets.currentKeyId;
    expect(keyFileIds()).toEqual([oldId]);
    const cli = await keelCli(['secrets', 'rotate', '--new-key', '--json'], { url: t.url, key: t.adminKey });
    expect(cli.code, cli.stderr).toBe(0);
    const r = JSON.parse(cli.stdout);
    expect(r.new_key_id).not.toBe(oldId);
    expect(r.reencrypted).toBe(31);
    expect(r.retired_key_ids).toEqual([oldId]);
    expect(r.status).toMatchObject({ current_key_id: r.new_key_id, key_ids: [r.new_key_id], under_older_keys: 0, total_values: 31 });
    expect(keyFileIds()).toEqual([r.new_key_id]);
    const rows = await (t.keel.store.db as any).selectFrom('test_webhooks').selectAll().where('secret', 'is not', null).orderBy('name').execute();
    const opened = new Map(rows.map((x: any) => [x.name, t.keel.ctx.secrets.open(x.secret)]));
    for (const [i, p] of plain.entries()) expect(opened.get(`hook-${i}`)).toBe(p);
    for (const x of rows) expect(x.secret.split(':')[1]).toBe(r.new_key_id);
    const rotated = (await http(`${t.url}/v1/audit?action=secrets.rotate`, { key: t.adminKey })).body.entries;
    expect(rotated.at(-1)).toMatchObject({ before: { current_key_id: oldId }, after: { current_key_id: r.new_key_id, reencrypted: 31 } });
    const status = await keelCli(['secrets', 'status'], { url: t.url, key: t.adminKey });
    expect(status.stdout).toContain(`current key ${r.new_key_id}`);
    expect(status.stdout).toContain('31 sealed value(s): 0 under older keys, 0 unreadable');
  });

  it('only lets admins of the system tenant rotate', async () => {
    const k = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'] } });
    const r = await http(`${t.url}/v1/secrets/rotate`, { key: k.body.key, json: {} });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/lacks the permission system:manage/);
    const bad = await http(`${t.url}/v1/secrets/rotate`, { key: t.adminKey, json: { new_key: 'yes' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/new_key/);
  });

  it('stops a rotation at a value that cannot be opened, naming it, and loses nothing', async () => {
    const current = t.keel.ctx.secrets.currentKeyId;
    await (t.keel.store.db as any)
      .insertInto('test_webhooks')
      .values({ tenant_id: 'acme', name: 'corrupt', secret: `v1:${current}:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBB` })
      .execute();
    const r = await http(`${t.url}/v1/secrets/rotate`, { key: t.adminKey, json: { new_key: true } });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/test_webhooks\.secret \(tenant_id=acme, name=corrupt\) cannot be opened/);
    const rows = await (t.keel.store.db as any).selectFrom('test_webhooks').selectAll().where('name', '!=', 'corrupt').where('secret', 'is not', null).execute();
    const opened = new Set(rows.map((x: any) => t.keel.ctx.secrets.open(x.secret)));
    for (const p of plain) expect(opened.has(p)).toBe(true);
  });
});
