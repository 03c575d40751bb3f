import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { keel as keelCli } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { signIn } from '../helpers/security.js';

const DAY = 86_400_000;
const clock = new FakeClock(Date.now());
let t: TestKeel;
let acmeAdmin: string;

beforeAll(async () => {
  t = await startTestKeel({ security: { passwords: { hashCost: 12 }, apiKeys: { maxAge: '90d' }, backups: { maxAge: '24h' } } }, { clock });
  acmeAdmin = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'], name: 'old acme admin' } })).body.key;
  await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'other' } });
  await http(`${t.url}/v1/users`, { key: acmeAdmin, json: { email: 'amy@acme.test', name: 'Amy', role: 'admin', password: 'compliance passphrase' } });
  await http(`${t.url}/v1/users`, { key: acmeAdmin, json: { email: 'never@acme.test', name: 'Never', role: 'viewer' } });
  await http(`${t.url}/v1/users`, { key: t.adminKey, json: { email: 'olga@other.test', name: 'Olga', role: 'editor', team: 'other' } });
  clock.advance(100 * DAY);
  await http(`${t.url}/v1/keys`, { key: acmeAdmin, json: { scopes: ['ingest'], name: 'fresh ingest' } });
  await signIn(t.url, 'amy@acme.test', 'compliance passphrase');
  await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'amy@acme.test', password: 'not it at all' } });
  // Two incidents: a SEV1 acknowledged after 60 s and resolved after 600 s, with no postmortem;
  // a SEV3 acknowledged after 120 s and still open.
  const sev1 = (await http(`${t.url}/v1/incidents`, { key: acmeAdmin, json: { title: 'db down', severity: 'SEV1' } })).body;
  const sev3 = (await http(`${t.url}/v1/incidents`, { key: acmeAdmin, json: { title: 'slow search', severity: 'SEV3' } })).body;
  clock.advance(60_000);
  expect((await http(`${t.url}/v1/incidents/${sev1.id}/ack`, { key: acmeAdmin, json: {} })).status).toBe(200);
  clock.advance(60_000);
  expect((await http(`${t.url}/v1/incidents/${sev3.id}/ack`, { key: acmeAdmin, json: {} })).status).toBe(200);
  clock.advance(480_000);
  expect((await http(`${t.url}/v1/incidents/${sev1.id}/resolve`, { key: acmeAdmin, json: {} })).status).toBe(200);
});
afterAll(async () => t?.close());

describe('keel compliance report', () => {
  it('degrades to "no SLOs defined" and "no backup" before there are any', async () => {
    const r = await http(`${t.url}/v1/compliance/report`, { key: t.adminKey });
    expect(r.status).toBe(200);
    expect(r.body.slos).toEqual({ summary: 'no SLOs defined', rows: [] });
    expect(r.body.backups).toMatchObject({ status: 'none', last_backup_at: null });
  });

  it('holds the access review, audit chain, encryption, backup age, SLOs and incidents for the period', async () => {
    const slo = `apiVersion: openslo/v1
kind: Service
metadata:
  name: checkout
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  indicator:
    metadata:
      name: checkout-requests
    spec:
      ratioMetric:
        counter: true
        total:
          metricSource:
            type: keel
            spec:
              query: service == "checkout"
        good:
          metricSource:
            type: keel
            spec:
              query: status < 500
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: availability
      target: 0.9
`;
    const applied = await http(`${t.url}/v1/definitions/apply`, { key: acmeAdmin, json: { sources: [{ file: 'slo.yaml', content: slo }] } });
    expect(applied.status).toBe(200);
    const ingest = (await http(`${t.url}/v1/keys`, { key: acmeAdmin, json: { scopes: ['ingest'], name: 'slo events' } })).body.key;
    const events = [...Array.from({ length: 8 }, () => ({ service: 'checkout', status: 200 })), { service: 'checkout', status: 503 }, { service: 'checkout', status: 502 }];
    const sent = await http(`${t.url}/v1/events`, { method: 'POST', key: ingest, body: events.map((e) => JSON.stringify(e)).join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    expect(sent.status).toBe(202);
    for (let i = 0; i < 200; i++) {
      const s = await http(`${t.url}/v1/slos/checkout-availability`, { key: acmeAdmin });
      if (s.body?.objectives?.[0]?.events?.total === 10) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const backup = await http(`${t.url}/v1/backups`, { key: t.adminKey, method: 'POST' });
    expect(backup.status).toBe(200);
    clock.advance(2 * 3_600_000);
    const r = await http(`${t.url}/v1/compliance/report?since=30d`, { key: t.adminKey });
    expect(r.status).toBe(200);
    const a = r.body.access_review;
    expect(r.body.scope).toBe('all tenants');
    const amy = a.users.find((u: any) => u.email === 'amy@acme.test');
    expect(amy).toMatchObject({ teams: [{ team: 'acme', role: 'admin' }], has_password: true, last_sign_in_method: 'password', flags: [] });
    expect(a.users.find((u: any) => u.email === 'never@acme.test').flags).toContain('never signed in');
    const old = a.api_keys.find((k: any) => k.name === 'old acme admin');
    expect(old).toMatchObject({ tenant: 'acme', scopes: ['admin'], age_days: 100 });
    expect(old.flags).toEqual(expect.arrayContaining(['older than 90 days', 'admin scope']));
    expect(a.api_keys.find((k: any) => k.name === 'fresh ingest').flags).toEqual(['never used']);
    expect(a.summary).toMatchObject({ users: 3, admins: 1, never_signed_in: 2 });
    expect(a.summary.api_keys_flagged).toBe(2); // the bootstrap key and the old acme key
    expect(r.body.audit.chain).toMatchObject({ ok: true, problem: null });
    expect(r.body.audit.failed_sign_ins_in_period).toBe(1);
    expect(r.body.audit.by_action['keys.create']).toBe(2); // only the two created in the period
    expect(r.body.encryption).toMatchObject({ algorithm: 'AES-256-GCM', key_source: 'file', unreadable: 0, transport: { tls: false, session_cookie: 'HttpOnly; SameSite=Lax', cors_origins: [] } });
    expect(r.body.backups).toMatchObject({ status: 'ok', age_hours: 2, in_period: 1 });
    // 8 of 10 good against a 90 % objective: missed, and twice the period's budget consumed.
    expect(r.body.slos.rows).toEqual([
      {
        tenant: 'acme',
        slo: 'checkout-availability',
        service: 'checkout',
        objective: 'availability',
        target: 0.9,
        sli_in_period: 0.8,
        met: false,
        budget_consumed_percent: 200,
        events_good: 8,
        events_total: 10,
      },
    ]);
    expect(r.body.slos.summary).toBe('1 SLO(s); 1 objective(s) missed in the period');
    expect(r.body.incidents.rows).toEqual([
      { tenant: 'acme', incidents: 2, sev1: 1, sev2: 0, sev3: 1, sev4: 0, acknowledged: 2, resolved: 1, still_open: 1, mtta_seconds: 90, mttr_seconds: 600, sev1_sev2_without_postmortem: 1 },
    ]);
    expect(r.body.incidents.summary).toBe('2 incident(s) (SEV1 1, SEV2 0, SEV3 1, SEV4 0); MTTA 90 s, MTTR 600 s; 1 SEV1/SEV2 without a postmortem');
    clock.advance(DAY);
    const stale = await http(`${t.url}/v1/compliance/report`, { key: t.adminKey });
    expect(stale.body.backups.status).toBe('stale');
  });

  it('scopes a team admin’s report to the team; another team is 404', async () => {
    const r = await http(`${t.url}/v1/compliance/report`, { key: acmeAdmin });
    expect(r.body.scope).toBe('tenant acme');
    expect(r.body.access_review.users.map((u: any) => u.email).sort()).toEqual(['amy@acme.test', 'never@acme.test']);
    expect(r.body.access_review.api_keys.every((k: any) => k.tenant === 'acme')).toBe(true);
    expect(r.text).not.toContain('olga@other.test');
    expect((await http(`${t.url}/v1/compliance/report?tenant=other`, { key: acmeAdmin })).status).toBe(404);
    const bad = await http(`${t.url}/v1/compliance/report?since=soon`, { key: acmeAdmin });
    expect(bad.status).toBe(400);
  });

  it('prints Markdown or JSON from the CLI, and says so when the audit chain is broken', async () => {
    const md = await keelCli(['compliance', 'report', '--md', '--since', '30d'], { url: t.url, key: t.adminKey });
    expect(md.code, md.stderr).toBe(0);
    for (const h of ['# Keel compliance report', '## Access review', '### People', '### API keys', '## Audit log', '## Encryption', '## Backups', '## SLOs', '## Incidents'])
      expect(md.stdout).toContain(h);
    expect(md.stdout).toMatch(/Hash chain \*\*intact\*\*: \d+ entries checked; head entry \d+ has hash `[0-9a-f]{64}`/);
    expect(md.stdout).toContain('| amy@acme.test | Amy | acme: admin | password |');
    expect(md.stdout).toContain('older than 90 days');
    const json = await keelCli(['compliance', 'report', '--json'], { url: t.url, key: t.adminKey });
    expect(JSON.parse(json.stdout).access_review.summary.users).toBe(3);
    const db = new Database(join(t.dataDir, 'state.db'));
    db.prepare("UPDATE audit_log SET target = 'elsewhere' WHERE seq = 2").run();
    db.close();
    const broken = await keelCli(['compliance', 'report'], { url: t.url, key: t.adminKey });
    expect(broken.stdout).toContain('Hash chain **BROKEN** at entry 2');
  });
});
