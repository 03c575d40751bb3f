/**
 * The distributed mode through its HTTP API and CLI: ingest on JetStream with the same answers
 * and refusals as the embedded mode, events read back, usage counted, quotas shared by two ingest
 * instances, routes and readiness per role, and precise refusals of a bad start.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import type { Roles } from '../../src/module/context.js';
import { startDistributed, type DistributedInstance } from '../../src/runtime/distributed.js';
import { readinessSchema } from '../../src/telemetry/schemas.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { runCliWithEnv } from '../helpers/cli.js';
import { cleanup, uniqueNames, type ClusterNames } from '../helpers/dist.js';
import { ADMIN_KEY, http, ndjson, startTestKeel } from '../helpers/keel.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';
import { SERVICE, applyYaml, eventually, ratioSlo } from '../slo/fixtures.js';

let names: ClusterNames;
let dir: string;
let keyFile: string;
const instances: DistributedInstance[] = [];

async function start(roles: Roles): Promise<DistributedInstance> {
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      'server.port': 0,
      logLevel: 'silent',
      'ingest.maxRequestBytes': 256 * 1024,
      'ingest.maxEventsPerRequest': 500,
      'nats.url': NATS_URL,
      'nats.stream': names.stream,
      'nats.subjectPrefix': names.prefix,
      'nats.partitions': 4,
      'postgres.url': PG_URL,
      'postgres.schema': names.schema,
      'secrets.keyFile': keyFile,
      'cluster.leaderPoll': 200,
    },
  });
  const keel = await startDistributed({ config, logger: createLogger('silent'), roles, bootstrapKey: ADMIN_KEY, warn: () => undefined });
  instances.push(keel);
  return keel;
}

const ALL: Roles = { ingest: true, worker: true, evaluator: true, api: true };
let main: DistributedInstance;
let ingestKey: string;
let readKey: string;

async function key(tenant: string, scopes: string[]): Promise<string> {
  const r = await http(`${main.url}/v1/keys`, { key: ADMIN_KEY, json: { tenant, scopes } });
  expect(r.status).toBe(201);
  return r.body.key;
}

function send(url: string, body: string | Buffer, k: string, headers: Record<string, string> = {}) {
  return http(`${url}/v1/events`, { method: 'POST', key: k, body, headers: { 'content-type': 'application/x-ndjson', ...headers } });
}

beforeAll(async () => {
  names = uniqueNames('api');
  dir = mkdtempSync(join(tmpdir(), 'keel-dist-api-'));
  keyFile = join(dir, 'secret.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'));
  main = await start(ALL);
  ingestKey = await key('acme', ['ingest']);
  readKey = await key('acme', ['read']);
});

afterAll(async () => {
  for (const k of instances.reverse()) await k.close();
  if (names) await cleanup(names);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ingest on JetStream', () => {
  it('accepts valid events, rejects bad lines one by one, and reads the stored ones back in order', async () => {
    const body = [JSON.stringify({ marker: 'm1', status: 200 }), '{"broken": ', JSON.stringify({ marker: 'm2', ts: 'yesterday' }), JSON.stringify({ marker: 'm3' })].join('\n');
    const r = await send(main.url, body, ingestKey);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ accepted: 2, rejected: 2 });
    expect(r.body.errors.map((e: { index: number; code: string }) => [e.index, e.code])).toEqual([
      [1, 'invalid_json'],
      [2, 'invalid_ts'],
    ]);
    await send(main.url, ndjson([{ marker: 'm4' }]), ingestKey);
    const page = await http(`${main.url}/v1/events?limit=2`, { key: readKey });
    expect(page.status).toBe(200);
    expect(page.body.events.map((e: { marker: string }) => e.marker)).toEqual(['m1', 'm3']);
    const rest = await http(`${main.url}/v1/events?cursor=${page.body.cursor}`, { key: readKey });
    expect(rest.body.events.map((e: { marker: string }) => e.marker)).toEqual(['m4']);
  });

  it('refuses bad input with the same precise 4xx as the embedded mode', async () => {
    const gz = await send(main.url, Buffer.from('not gzip'), ingestKey, { 'content-encoding': 'gzip' });
    expect([gz.status, gz.body.error.code]).toEqual([400, 'malformed_body']);
    const type = await http(`${main.url}/v1/events`, { method: 'POST', key: ingestKey, body: 'x', headers: { 'content-type': 'text/csv' } });
    expect([type.status, type.body.error.code]).toEqual([415, 'unsupported_media_type']);
    const big = await send(main.url, ndjson(Array.from({ length: 300 }, () => ({ pad: 'x'.repeat(1_000) }))), ingestKey);
    expect(big.status).toBe(413);
    expect(big.body.error.message).toContain('262144');
    const many = await send(main.url, ndjson(Array.from({ length: 501 }, (_, i) => ({ i }))), ingestKey);
    expect(many.status).toBe(413);
    const noKey = await http(`${main.url}/v1/events`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/x-ndjson' } });
    expect(noKey.status).toBe(401);
    const gzOk = await send(main.url, gzipSync(ndjson([{ marker: 'gz' }])), ingestKey, { 'content-encoding': 'gzip' });
    expect(gzOk.status).toBe(202);
  });

  it('answers a retried Idempotency-Key with the first answer and stores nothing twice', async () => {
    const body = ndjson([{ marker: 'idem-1' }, { marker: 'idem-2' }]);
    const first = await send(main.url, body, ingestKey, { 'idempotency-key': 'order-77' });
    const again = await send(main.url, body, ingestKey, { 'idempotency-key': 'order-77' });
    expect(again.status).toBe(202);
    expect(again.text).toBe(first.text);
    const reused = await send(main.url, ndjson([{ marker: 'other' }]), ingestKey, { 'idempotency-key': 'order-77' });
    expect([reused.status, reused.body.error.code]).toEqual([422, 'idempotency_key_reused']);
    const all = await http(`${main.url}/v1/events?limit=1000`, { key: readKey });
    expect(all.body.events.filter((e: { marker: string }) => e.marker?.startsWith('idem-')).length).toBe(2);
  });

  it('counts usage on the workers', async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await http(`${main.url}/v1/usage`, { key: readKey });
      expect(r.status).toBe(200);
      // m1, m3, m4, gz, idem-1, idem-2
      if (r.body.totals[0]?.events === 6) break;
      if (Date.now() > deadline) throw new Error(`usage ${JSON.stringify(r.body.totals)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  });
});

describe('SLOs on JetStream', () => {
  it('backfills events sent before the SLO and counts those after it live, each once', async () => {
    const k = await key('slotenant', ['ingest', 'read', 'admin']);
    const ev = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ service: 'checkout', status: (from + i) % 5 === 0 ? 503 : 200 }));
    // Before any SLO the aggregator reads headers only; these events reach the SLO by backfill.
    expect((await send(main.url, ndjson(ev(50, 0)), k)).status).toBe(202);
    const apply = await applyYaml(main.url, k, `${SERVICE}---\n${ratioSlo('checkout-availability')}`);
    expect(apply.status, apply.text).toBe(200);
    // Now an SLO needs the events: the aggregator's consumer switches to delivering them.
    for (let i = 0; i < 3; i++) expect((await send(main.url, ndjson(ev(50, 50 + i * 50)), k)).status).toBe(202);
    const s = await eventually(async () => {
      const r = await http(`${main.url}/v1/slos/checkout-availability`, { key: k });
      const events = r.body.objectives?.[0]?.events;
      return r.status === 200 && r.body.backfill?.state === 'done' && events?.total === 200 ? r.body : undefined;
    }, 30_000, 'all 200 events counted');
    expect(s.objectives[0].events).toEqual({ good: 160, bad: 40, total: 200 });
    // Nothing is counted twice afterwards either.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await http(`${main.url}/v1/slos/checkout-availability`, { key: k })).body.objectives[0].events.total).toBe(200);
  });
});

describe('roles', () => {
  it('enforces one tenant quota across two ingest instances', async () => {
    const second = await start({ ingest: true, worker: false, evaluator: false, api: false });
    const r = await http(`${main.url}/v1/tenants`, { key: ADMIN_KEY, json: { id: 'capped', eventsPerSecond: 1, burst: 300 } });
    expect(r.status).toBe(201);
    const capped = await key('capped', ['ingest']);
    let accepted = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await send(i % 2 ? second.url : main.url, ndjson(Array.from({ length: 50 }, (_, k) => ({ k }))), capped);
      statuses.push(res.status);
      if (res.status === 202) accepted += res.body.accepted;
      else {
        expect(res.status).toBe(429);
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    }
    // One bucket of 300 (plus 1/s of refill), not 300 per instance.
    expect(accepted).toBeGreaterThanOrEqual(300);
    expect(accepted).toBeLessThanOrEqual(350);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
  });

  it('serves on each role only what it runs, and readiness of its own dependencies', async () => {
    const ingest = instances.find((k) => k.role === 'ingest')!;
    const evaluator = await start({ ingest: false, worker: false, evaluator: true, api: false });
    const keysOnIngest = await http(`${ingest.url}/v1/keys`, { key: ADMIN_KEY });
    expect(keysOnIngest.status).toBe(404);
    // The web console comes with the API (the api role), not with ingest.
    const consoleOnApi = await http(`${main.url}/incidents/inc_1?team=acme`);
    expect([consoleOnApi.status, consoleOnApi.text]).toEqual([200, expect.stringContaining('<div id="app"></div>')]);
    expect((await http(`${ingest.url}/incidents/inc_1`)).status).toBe(404);
    const eventsOnEvaluator = await send(evaluator.url, ndjson([{ a: 1 }]), ingestKey);
    expect(eventsOnEvaluator.status).toBe(404);
    const ri = await http(`${ingest.url}/readyz`);
    expect(ri.status).toBe(200);
    expect(ri.body).toMatchObject({ role: 'ingest', checks: { state_store: { ok: true }, event_log: { ok: true } } });
    // Ready once its leader-lock connection is up (a moment after start).
    let re = await http(`${evaluator.url}/readyz`);
    for (let i = 0; i < 100 && re.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      re = await http(`${evaluator.url}/readyz`);
    }
    expect(re.body).toMatchObject({ role: 'evaluator', checks: { state_store: { ok: true }, leadership: { ok: true } } });
    expect(re.body.checks.event_log).toBeUndefined();
    // /readyz sends its answer itself, past the server's check: the distributed facts (role, holder, leads) are declared too.
    for (const r of [ri, re]) expect(readinessSchema.safeParse(r.body).error).toBeUndefined();
    const cluster = await http(`${main.url}/v1/cluster`, { key: ADMIN_KEY });
    expect(cluster.status).toBe(200);
    expect(cluster.body.partitions).toBe(4);
    expect(new Set(cluster.body.members.map((m: { role: string }) => m.role))).toEqual(new Set(['all', 'ingest', 'evaluator']));
    const metrics = await http(`${ingest.url}/metrics`);
    expect(metrics.text).toContain('keel_ingest_requests_total');
    expect(metrics.text).toMatch(/^keel_nats_connected 1$/m);
    // The all-roles process leads and processes: its gauges say so, in valid exposition format.
    let all = await http(`${main.url}/metrics`);
    for (let i = 0; i < 50 && !/keel_log_partitions_owned\{consumer="usage"\} [1-9]/.test(all.text); i++) {
      await new Promise((r) => setTimeout(r, 200));
      all = await http(`${main.url}/metrics`);
    }
    expect(all.text).toMatch(/^keel_cluster_leader\{leadership="usage-retention"\} 1$/m);
    expect(all.text).toMatch(/^keel_log_partitions_owned\{consumer="usage"\} [1-9]$/m);
    // promtool parses the exposition; its only lint remarks are about prom-client's own nodejs_* gauges.
    const check = spawnSync('promtool', ['check', 'metrics'], { input: all.text, encoding: 'utf8' });
    expect(check.error, 'promtool did not run (is the Debian package prometheus installed?)').toBeUndefined();
    const remarks = (check.stderr + check.stdout).split('\n').filter((l) => l.trim() && !l.startsWith('nodejs_'));
    expect(remarks).toEqual([]);
    // promtool exits 0 when clean, 3 with lint remarks (only the nodejs_* ones above); 1 is an
    // exposition it cannot parse and a null status a crash: both fail here.
    expect(check.signal, 'promtool was killed').toBeNull();
    expect([0, 3], `promtool exited ${check.status}: ${check.stderr}`).toContain(check.status);
    // Keel's own families alone pass without a single remark.
    const ours = all.text.split('\n').filter((l) => /^(# (HELP|TYPE) )?keel_/.test(l)).join('\n');
    expect(ours).toContain('# TYPE keel_cluster_leader gauge');
    const own = spawnSync('promtool', ['check', 'metrics'], { input: `${ours}\n`, encoding: 'utf8' });
    expect(own.status, `${own.stdout}${own.stderr}`).toBe(0);
  });
});

describe('starting the distributed mode', () => {
  const base = ['start', '--port', '0'];
  const env = { KEEL_LOG_LEVEL: 'silent', KEEL_DATA_DIR: '' };

  it('refuses a start it cannot honour, with exit code 2 and the reason', async () => {
    const noDeps = await runCliWithEnv([...base, '--role', 'ingest', '-d', dir], { ...env, KEEL_NATS_URL: '', KEEL_POSTGRES_URL: '' });
    expect(noDeps.code).toBe(2);
    expect(noDeps.stderr).toContain('needs NATS JetStream and PostgreSQL');
    const badRole = await runCliWithEnv([...base, '--role', 'cook', '-d', dir], env);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('unknown role "cook"');
    const noSecret = await runCliWithEnv([...base, '--role', 'worker', '-d', dir, '--nats', NATS_URL, '--postgres', PG_URL], { ...env, KEEL_SECRET_KEY: '' });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('KEEL_SECRET_KEY');
    const mismatch = await runCliWithEnv([...base, '--role', 'worker', '-d', dir, '--nats', NATS_URL, '--postgres', PG_URL, '--partitions', '3'], {
      ...env,
      KEEL_SECRET_KEY: randomBytes(32).toString('hex'),
      KEEL_POSTGRES_SCHEMA: names.schema,
      KEEL_NATS_STREAM: names.stream,
      KEEL_NATS_SUBJECT_PREFIX: names.prefix,
    });
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('created with partitions = 4');
    const noDatabase = await runCliWithEnv([...base, '--role', 'worker', '-d', dir, '--nats', NATS_URL, '--postgres', PG_URL.replace(/\/[^/]*$/, '/keel_no_such_db')], {
      ...env,
      KEEL_SECRET_KEY: randomBytes(32).toString('hex'),
    });
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr).toContain('database "keel_no_such_db" does not exist');
    const badPartitions = await runCliWithEnv([...base, '--partitions', 'many'], env);
    expect(badPartitions.code).toBe(2);
  });

  it('documents the roles in --help', async () => {
    const help = await runCliWithEnv(['start', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--role <role>');
    expect(help.stdout).toContain('--nats <urls>');
    expect(help.stdout).toContain('--postgres <url>');
  });
});

describe('keel doctor, embedded', () => {
  it('reports the embedded log and disk, and warns while Keel’s own pages reach nobody', async () => {
    // The product default: self-monitoring on, no escalation policy named for it.
    const t = await startTestKeel({ selfMonitoring: {} });
    try {
      const r = await runCliWithEnv(['doctor'], { KEEL_URL: t.url, KEEL_API_KEY: t.adminKey });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/keel doctor \(embedded mode\): WARN/);
      expect(r.stdout).toMatch(/OK\s+log\.writable/);
      expect(r.stdout).toMatch(/OK\s+self\.monitoring/);
      expect(r.stdout).toMatch(/WARN\s+self\.paging\s+selfMonitoring\.escalationPolicy is not set: .* page NOBODY/);
      const strict = await runCliWithEnv(['doctor', '--strict'], { KEEL_URL: t.url, KEEL_API_KEY: t.adminKey });
      expect(strict.code).toBe(1);
    } finally {
      await t.close();
    }
  });
});
