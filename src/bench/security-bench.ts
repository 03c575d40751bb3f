/**
 * `keel bench security`: what security costs on the hot paths, each beside a ceiling measured in
 * the same run on the same machine:
 *  - authenticated requests/s (API key; session cookie) vs the same server's unauthenticated
 *    /healthz (the ceiling: everything but authentication and the permission check);
 *  - audit chain verification, entries/s vs bare sha256 of the same entries on one core;
 *  - password sign-ins/s over HTTP vs bare scrypt hashes/s on libuv's thread pool.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { AuditLog } from '../audit/audit-log.js';
import { AuditQuery } from '../audit/audit-query.js';
import { hashPassword } from '../auth/passwords.js';
import { systemClock } from '../core/clock.js';
import { openSqliteStore } from '../store/store.js';
import { percentile } from './load.js';
import { spawnKeel } from './spawn-keel.js';

export interface SecurityBenchOptions {
  durationS: number;
  connections: number;
  auditEntries: number;
  log: (line: string) => void;
}

interface Rate {
  per_s: number;
  p50_ms: number;
  p99_ms: number;
  failures: number;
}

export interface SecurityBenchResult {
  public_ceiling: Rate;
  api_key: Rate;
  session_cookie: Rate;
  audit_verify_entries_per_s: number;
  audit_sha256_ceiling_per_s: number;
  audit_entries: number;
  sign_ins_per_s: number;
  scrypt_ceiling_per_s: number;
  scrypt_ms: number;
}

interface Samples {
  lat: number[];
  failures: number;
  seconds: number;
}

/** `connections` loops sending GET `path` back to back for `seconds`; adds to `into`. */
async function closedLoop(pool: Pool, path: string, headers: Record<string, string>, connections: number, seconds: number, expect: number, into: Samples): Promise<void> {
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const res = await pool.request({ path, method: 'GET', headers });
        await res.body.text();
        if (res.statusCode === expect) into.lat.push(performance.now() - t0);
        else into.failures++;
      }
    }),
  );
  into.seconds += seconds;
}

function rate(s: Samples): Rate {
  s.lat.sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 100) / 100;
  return { per_s: Math.round(s.lat.length / s.seconds), p50_ms: r(percentile(s.lat, 50)), p99_ms: r(percentile(s.lat, 99)), failures: s.failures };
}

export async function benchSecurity(o: SecurityBenchOptions): Promise<SecurityBenchResult> {
  // Audit verification, in this process on a store of its own.
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-audit-'));
  let auditVerify = 0;
  let shaCeiling = 0;
  try {
    const store = await openSqliteStore(join(dir, 'state.db'));
    const audit = new AuditLog(store, systemClock);
    o.log(`writing ${o.auditEntries.toLocaleString('en-US')} audit entries…`);
    for (let i = 0; i < o.auditEntries; i++) {
      await audit.record({
        actor: 'key:keel_bench',
        action: 'keys.create',
        tenant: `t${i % 50}`,
        target: `key/key_${i}`,
        after: { name: `bench ${i}`, scopes: ['read'] },
        sourceIp: '127.0.0.1',
        requestId: `r${i}`,
      });
    }
    const t0 = performance.now();
    const result = await new AuditQuery(store).verify();
    auditVerify = Math.round(result.checked / ((performance.now() - t0) / 1000));
    const rows = await store.db.selectFrom('audit_log').selectAll().execute();
    const canon = rows.map((e) => JSON.stringify([e.seq, e.at, e.actor, e.action, e.tenant_id, e.target, e.before_json, e.after_json, e.source_ip, e.request_id, e.ok, e.prev_hash]));
    const t1 = performance.now();
    for (const c of canon) createHash('sha256').update(c).digest('hex');
    shaCeiling = Math.round(canon.length / ((performance.now() - t1) / 1000));
    await store.close();
    o.log(`audit verify: ${auditVerify.toLocaleString('en-US')} entries/s; sha256 ceiling ${shaCeiling.toLocaleString('en-US')} entries/s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // scrypt ceiling: as many hashes at once as libuv has threads.
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const tS = performance.now();
  let hashes = 0;
  while (performance.now() - tS < 3000) {
    await Promise.all(Array.from({ length: threads }, () => hashPassword('a long enough benchmark password')));
    hashes += threads;
  }
  const scryptPerS = hashes / ((performance.now() - tS) / 1000);
  o.log(`scrypt: ${scryptPerS.toFixed(1)} hashes/s on ${threads} threads`);

  const keel = await spawnKeel();
  try {
    const admin = { authorization: `Bearer ${keel.adminKey}`, 'content-type': 'application/json' };
    const post = async (path: string, body: unknown, headers: Record<string, string> = admin) => {
      const r = await request(`${keel.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      return { status: r.statusCode, headers: r.headers, body: (await r.body.json()) as Record<string, string> };
    };
    const key = (await post('/v1/keys', { tenant: 'bench', scopes: ['read'] })).body.key!;
    await post('/v1/users', { email: 'bench@example.com', name: 'Bench', role: 'viewer', team: 'bench', password: 'a long enough benchmark password' });
    const signed = await post('/v1/auth/sign-in', { email: 'bench@example.com', password: 'a long enough benchmark password' }, { 'content-type': 'application/json' });
    const cookie = (signed.headers['set-cookie'] as string[]).find((c) => c.startsWith('keel_session='))!.split(';')[0]!;

    o.log(`keel pid ${keel.child.pid}; ${o.connections} connections, ${o.durationS} s per measurement, interleaved second by second…`);
    // Interleaved one second at a time, so load from elsewhere on the machine hits all three alike.
    const pool = new Pool(keel.url, { connections: o.connections, pipelining: 1 });
    const samples = { ceiling: { lat: [], failures: 0, seconds: 0 }, key: { lat: [], failures: 0, seconds: 0 }, session: { lat: [], failures: 0, seconds: 0 } } as Record<string, Samples>;
    for (let i = 0; i < o.durationS; i++) {
      await closedLoop(pool, '/healthz', {}, o.connections, 1, 200, samples.ceiling!);
      await closedLoop(pool, '/v1/tenants/bench', { authorization: `Bearer ${key}` }, o.connections, 1, 200, samples.key!);
      await closedLoop(pool, '/v1/tenants/bench', { cookie }, o.connections, 1, 200, samples.session!);
    }
    await pool.close();
    const [ceiling, withKey, withSession] = [rate(samples.ceiling!), rate(samples.key!), rate(samples.session!)];
    o.log(`  /healthz ${ceiling.per_s}/s, API key ${withKey.per_s}/s, session ${withSession.per_s}/s`);

    // Sign-ins: each is one scrypt on the server.
    const tI = performance.now();
    let signIns = 0;
    while (performance.now() - tI < o.durationS * 1000) {
      const rs = await Promise.all(
        Array.from({ length: threads }, () => post('/v1/auth/sign-in', { email: 'bench@example.com', password: 'a long enough benchmark password' }, { 'content-type': 'application/json' })),
      );
      signIns += rs.filter((r) => r.status === 200).length;
    }
    const signInsPerS = signIns / ((performance.now() - tI) / 1000);
    return {
      public_ceiling: ceiling,
      api_key: withKey,
      session_cookie: withSession,
      audit_verify_entries_per_s: auditVerify,
      audit_sha256_ceiling_per_s: shaCeiling,
      audit_entries: o.auditEntries,
      sign_ins_per_s: Math.round(signInsPerS * 10) / 10,
      scrypt_ceiling_per_s: Math.round(scryptPerS * 10) / 10,
      scrypt_ms: Math.round((1000 * threads) / scryptPerS),
    };
  } finally {
    await keel.stop('SIGTERM');
    keel.cleanup();
  }
}
