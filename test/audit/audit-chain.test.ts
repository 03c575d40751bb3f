import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel as keelCli } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { addUser, asUser, signIn } from '../helpers/security.js';

const PW = 'audited passphrase 1';
let t: TestKeel;
let db: Database.Database;
let acmeAdminKey: string;

async function entries(query = '', key = t.adminKey): Promise<any[]> {
  const r = await http(`${t.url}/v1/audit?limit=1000${query}`, { key });
  expect(r.status).toBe(200);
  return r.body.entries;
}

async function verify(anchor?: string) {
  const r = await http(`${t.url}/v1/audit/verify${anchor ? `?anchor=${anchor}` : ''}`, { key: t.adminKey });
  expect(r.status).toBe(200);
  return r.body;
}

/** Runs a tampering, checks `keel audit verify` over HTTP and through the CLI, then undoes it. */
async function tampered(change: () => void, undo: () => void, expected: { seq: number; kind: string }, anchor?: string, cli = false) {
  change();
  try {
    const r = await verify(anchor);
    expect(r.ok).toBe(false);
    expect(r.problem).toMatchObject(expected);
    if (cli) {
      const out = await keelCli(['audit', 'verify', ...(anchor ? ['--anchor', anchor] : [])], { url: t.url, key: t.adminKey });
      expect(out.code).toBe(1);
      expect(out.stdout).toContain(`BROKEN at entry ${expected.seq} (${expected.kind})`);
    }
  } finally {
    undo();
  }
  expect((await verify()).ok).toBe(true);
}

beforeAll(async () => {
  t = await startTestKeel({ security: { passwords: { hashCost: 12 } } });
  const k = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'], name: 'acme admin' } });
  acmeAdminKey = k.body.key;
  const readKey = (await http(`${t.url}/v1/keys`, { key: acmeAdminKey, json: { scopes: ['read'] } })).body;
  await http(`${t.url}/v1/keys/${readKey.id}`, { method: 'DELETE', key: acmeAdminKey });
  await http(`${t.url}/v1/keys`, { key: readKey.key, json: { scopes: ['admin'] } }); // revoked: 401, not audited
  const ro = (await http(`${t.url}/v1/keys`, { key: acmeAdminKey, json: { scopes: ['read'], name: 'ro' } })).body.key;
  await http(`${t.url}/v1/keys`, { key: ro, json: { scopes: ['admin'] } }); // refused: 403, audited
  await addUser(t.url, acmeAdminKey, { email: 'carol@acme.test', role: 'editor', password: PW });
  await http(`${t.url}/v1/users/carol@acme.test`, { method: 'PATCH', key: acmeAdminKey, json: { role: 'responder' } });
  await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'carol@acme.test', password: 'wrong password here' } });
  const s = await signIn(t.url, 'carol@acme.test', PW);
  await http(`${t.url}/v1/auth/sign-out`, asUser(s, { method: 'POST' }));
  await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'other' } });
  await http(`${t.url}/v1/definitions/apply`, {
    key: acmeAdminKey,
    json: { sources: [{ file: 's.yaml', content: 'apiVersion: keel/v1\nkind: Service\nmetadata:\n  name: api\n' }] },
  });
  db = new Database(join(t.dataDir, 'state.db'));
});
afterAll(async () => {
  db?.close();
  await t?.close();
});

describe('audit entries', () => {
  it('records every change with who, what, target, before/after (secrets redacted), when, address and request id', async () => {
    const all = await entries();
    const actions = all.map((e) => `${e.action}${e.ok ? '' : ' (refused)'}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'keys.bootstrap',
        'keys.create',
        'keys.revoke',
        'keys.create (refused)',
        'users.add',
        'users.update',
        'auth.sign_in (refused)',
        'auth.sign_in',
        'auth.sign_out',
        'tenants.create',
        'definitions.apply',
      ]),
    );
    const created = all.find((e) => e.action === 'keys.create' && e.after?.name === 'acme admin');
    expect(created).toMatchObject({ actor: 'key:keel_test_ad', tenant: 'acme', ok: true, source_ip: '127.0.0.1' });
    expect(created.target).toMatch(/^key\/key_/);
    expect(created.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(all)).not.toContain(acmeAdminKey);
    expect(JSON.stringify(all)).not.toContain(PW);
    const role = all.find((e) => e.action === 'users.update');
    expect(role).toMatchObject({ before: { role: 'editor' }, after: { role: 'responder' }, target: expect.stringMatching(/^user\/usr_/) });
    expect(all.find((e) => e.action === 'keys.create' && !e.ok)).toMatchObject({ after: { denied: 'keys:manage' }, actor: expect.stringMatching(/^key:/) });
    expect(all.find((e) => e.action === 'auth.sign_in' && !e.ok)).toMatchObject({ target: 'user/carol@acme.test', after: { reason: 'wrong password' } });
  });

  it('shows a team admin only their team’s entries; another team by filter is 404', async () => {
    const mine = await entries('', acmeAdminKey);
    expect(mine.length).toBeGreaterThan(3);
    expect(new Set(mine.map((e) => e.tenant))).toEqual(new Set(['acme']));
    expect((await http(`${t.url}/v1/audit?tenant=other`, { key: acmeAdminKey })).status).toBe(404);
    expect((await entries('&tenant=other')).map((e) => e.action)).toEqual(['tenants.create']);
    const bad = await http(`${t.url}/v1/audit?since=yesterday`, { key: t.adminKey });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^since: must be an RFC 3339 time/);
  });
});

describe('keel audit verify', () => {
  it('passes on an untouched chain', async () => {
    const r = await verify();
    expect(r).toMatchObject({ ok: true, problem: null });
    expect(r.checked).toBeGreaterThan(10);
    const cli = await keelCli(['audit', 'verify'], { url: t.url, key: t.adminKey });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`audit chain intact: ${r.checked} entries checked`);
  });

  it('names an edited entry', async () => {
    const row = db.prepare('SELECT actor FROM audit_log WHERE seq = 5').get() as { actor: string };
    await tampered(
      () => db.prepare("UPDATE audit_log SET actor = 'key:innocent' WHERE seq = 5").run(),
      () => db.prepare('UPDATE audit_log SET actor = ? WHERE seq = 5').run(row.actor),
      { seq: 5, kind: 'altered' },
      undefined,
      true,
    );
  });

  it('names an edited entry whose hash was recomputed to match (the next one no longer links to it)', async () => {
    const row = db.prepare('SELECT * FROM audit_log WHERE seq = 6').get() as Record<string, unknown>;
    const { hashEntry } = await import('../../src/audit/audit-log.js');
    await tampered(
      () => {
        const forged = { ...row, after_json: '{"forged":true}' } as any;
        forged.hash = hashEntry(forged);
        db.prepare('UPDATE audit_log SET after_json = ?, hash = ? WHERE seq = 6').run(forged.after_json, forged.hash);
      },
      () => db.prepare('UPDATE audit_log SET after_json = ?, hash = ? WHERE seq = 6').run(row.after_json, row.hash),
      { seq: 7, kind: 'out_of_order' },
    );
  });

  it('names a deleted entry', async () => {
    const row = db.prepare('SELECT * FROM audit_log WHERE seq = 7').get() as Record<string, unknown>;
    const cols = Object.keys(row);
    await tampered(
      () => db.prepare('DELETE FROM audit_log WHERE seq = 7').run(),
      () => db.prepare(`INSERT INTO audit_log (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`).run(...cols.map((c) => row[c])),
      { seq: 7, kind: 'missing' },
    );
  });

  it('names reordered entries', async () => {
    const swap = () =>
      db.transaction(() => {
        db.prepare('UPDATE audit_log SET seq = -1 WHERE seq = 3').run();
        db.prepare('UPDATE audit_log SET seq = 3 WHERE seq = 4').run();
        db.prepare('UPDATE audit_log SET seq = 4 WHERE seq = -1').run();
      })();
    await tampered(swap, swap, { seq: 3, kind: 'out_of_order' });
  });

  it('catches entries removed from the end with an anchor remembered earlier', async () => {
    const head = (await verify()).head as { seq: number; hash: string };
    const row = db.prepare('SELECT * FROM audit_log WHERE seq = ?').get(head.seq) as Record<string, unknown>;
    const cols = Object.keys(row);
    db.prepare('DELETE FROM audit_log WHERE seq = ?').run(head.seq);
    expect((await verify()).ok).toBe(true); // a chain alone cannot see its own tail cut off...
    db.prepare(`INSERT INTO audit_log (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`).run(...cols.map((c) => row[c]));
    await tampered(
      () => db.prepare('DELETE FROM audit_log WHERE seq = ?').run(head.seq),
      () => db.prepare(`INSERT INTO audit_log (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`).run(...cols.map((c) => row[c])),
      { seq: head.seq, kind: 'anchor_mismatch' },
      `${head.seq}:${head.hash}`,
      true,
    ); // ...but the remembered head can
  });
});

describe('keel audit export', () => {
  it('writes JSON lines that verify offline, and names a line changed afterwards', async () => {
    const file = join(t.dataDir, 'audit.jsonl');
    const cli = await keelCli(['audit', 'export', '--since', '1h', '-o', file], { url: t.url, key: t.adminKey });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toMatch(/exported \d+ audit entries/);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.length).toBe((await entries()).length);
    expect(JSON.parse(lines[0]!)).toMatchObject({ seq: 1, action: 'keys.bootstrap' });
    const ok = await keelCli(['audit', 'verify', '--file', file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${lines.length} entries checked`);
    const e = JSON.parse(lines[2]!);
    e.target = 'key/someone-else';
    lines[2] = JSON.stringify(e);
    writeFileSync(file.replace('.jsonl', '-edited.jsonl'), `${lines.join('\n')}\n`);
    const bad = await keelCli(['audit', 'verify', '--file', file.replace('.jsonl', '-edited.jsonl'), '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).problem).toMatchObject({ seq: 3, kind: 'altered' });
  });
});
