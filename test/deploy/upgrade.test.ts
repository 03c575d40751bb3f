/**
 * Migrations roll forward on live data: the previous release (its commit in CHANGELOG.md) is built
 * from git history into a temporary directory (git archive; node_modules shared by symlink, and a
 * dependency this version dropped installed beside it), writes
 * a data dir (embedded) and a PostgreSQL schema + JetStream stream (distributed) through its HTTP
 * API, stops, and this version starts on the same data. Every event, definition, incident, audit
 * entry (chain verified), sealed secret and integration key is still there and works.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEL_BIN, freePort, waitReady } from '../../src/bench/spawn-keel.js';
import { cleanup, uniqueNames } from '../helpers/dist.js';
import { http } from '../helpers/keel.js';
import { clusterEnv } from './support/live-metrics.js';
import { ROOT } from './support/manifests.js';

const run = promisify(execFile);

/** The latest released version in CHANGELOG.md and the commit it was built from. */
function previousRelease(): { version: string; commit: string } {
  const m = /^## \[(\d+\.\d+\.\d+)\][^\n]*\n\nRelease commit: ([0-9a-f]{40})$/m.exec(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8'));
  if (!m) throw new Error('CHANGELOG.md names no released version with its commit');
  return { version: m[1]!, commit: m[2]! };
}

/** `name@range` of each runtime dependency of the release's package.json that this checkout no longer installs. */
function droppedDependencies(packageJson: string): string[] {
  const deps = (JSON.parse(readFileSync(packageJson, 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {};
  return Object.entries(deps)
    .filter(([name]) => !existsSync(join(ROOT, 'node_modules', name, 'package.json')))
    .map(([name, range]) => `${name}@${range}`);
}

const DEFINITIONS = `apiVersion: openslo/v1
kind: Service
metadata: { name: checkout }
spec: { description: Checkout API }
---
apiVersion: openslo/v1
kind: SLO
metadata: { name: checkout-availability }
spec:
  service: checkout
  indicator:
    metadata: { name: checkout-requests }
    spec:
      ratioMetric:
        counter: true
        total: { metricSource: { type: keel, spec: { query: 'service == "checkout"' } } }
        good: { metricSource: { type: keel, spec: { query: 'status < 500' } } }
  timeWindow: [{ duration: 30d, isRolling: true }]
  budgetingMethod: Occurrences
  objectives: [{ displayName: availability, target: 0.999 }]
`;

interface Written {
  events: unknown[];
  incidentId: string;
  audit: { seq: number; hash: string; action: string }[];
  secrets: { total_values: number };
  integrationKey: string;
}

async function startKeel(bin: string, dataDir: string, key: string, args: string[], env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'start', '--data-dir', dataDir, '--port', String(port), ...args], {
      env: { ...process.env, KEEL_BOOTSTRAP_KEY: key, KEEL_LOG_LEVEL: 'warn', ...env },
      stdio: 'ignore',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, 90_000, child);
    // Another test's Keel can bind the port between freePort() and this one's start: its /readyz
    // answered above, and this one exits (port taken). Only this one accepts this run's key (a
    // red CI run got 401 "invalid API key" from the previous release's first request).
    const mine = await http(`${url}/v1/events?limit=1`, { key });
    if (mine.status === 200) return { url, child };
    child.kill('SIGKILL');
    if (attempt >= 3) throw new Error(`the Keel started on port ${port} does not accept its bootstrap key: ${mine.status} ${mine.text}`);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function ok<T>(p: Promise<{ status: number; body: T }>, status = 200): Promise<T> {
  const r = await p;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

async function readAll(url: string, key: string): Promise<{ events: unknown[]; audit: Written['audit'] }> {
  const events = (await ok(http<{ events: unknown[] }>(`${url}/v1/events?limit=1000`, { key }))).events;
  const audit = (await ok(http<{ entries: Written['audit'] }>(`${url}/v1/audit?limit=1000`, { key }))).entries;
  return { events, audit };
}

/** What the previous release writes, through its own HTTP API. */
async function writeWithPrevious(url: string, key: string): Promise<Written> {
  const ndjson = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `e${i}`, service: 'checkout', status: i % 10 === 0 ? 503 : 200, n: i })).join('\n');
  const sent = await ok(http<{ accepted: number }>(`${url}/v1/events`, { key, body: ndjson, headers: { 'content-type': 'application/x-ndjson' } }), 202);
  expect(sent.accepted).toBe(40);
  await ok(http(`${url}/v1/definitions/apply`, { key, json: { sources: [{ file: 'slo.yaml', content: DEFINITIONS }] } }));
  const incident = await ok(http<{ id: string }>(`${url}/v1/incidents`, { key, json: { title: 'Checkout errors before the upgrade', severity: 'SEV2', page: false } }), 201);
  await ok(http(`${url}/v1/paging/secrets`, { key, json: { name: 'hook-signing', value: `s3cret-${randomBytes(8).toString('hex')}` } }));
  const integration = await ok(http<{ key: string }>(`${url}/v1/integrations`, { key, json: { type: 'events-v2' } }), 201);
  const all = await readAll(url, key);
  expect(all.events).toHaveLength(40);
  const verify = await ok(http<{ ok: boolean }>(`${url}/v1/audit/verify`, { key }));
  expect(verify.ok).toBe(true);
  const secrets = await ok(http<{ total_values: number; unreadable: number; not_sealed: number }>(`${url}/v1/secrets/status`, { key }));
  expect(secrets.total_values).toBeGreaterThanOrEqual(2);
  return { events: all.events, incidentId: incident.id, audit: all.audit, secrets, integrationKey: integration.key };
}

/** What this version must find after the upgrade. */
async function checkWithCurrent(url: string, key: string, before: Written): Promise<void> {
  const after = await readAll(url, key);
  expect(after.events).toEqual(before.events);
  // The old chain is a prefix of the new one, entry for entry, and the whole chain verifies.
  expect(after.audit.slice(0, before.audit.length)).toEqual(before.audit);
  expect(await ok(http<{ ok: boolean }>(`${url}/v1/audit/verify`, { key }))).toMatchObject({ ok: true });
  const defs = await ok(http<{ definitions: { kind: string; name: string }[] }>(`${url}/v1/definitions`, { key }));
  expect(defs.definitions.map((d) => `${d.kind}/${d.name}`)).toEqual(expect.arrayContaining(['Service/checkout', 'SLO/checkout-availability']));
  const slo = await http<{ name?: string }>(`${url}/v1/slos/checkout-availability`, { key });
  expect(slo.status, JSON.stringify(slo.body)).toBe(200);
  const incident = await ok(http<{ title: string; severity: string }>(`${url}/v1/incidents/${before.incidentId}`, { key }));
  expect(incident).toMatchObject({ title: 'Checkout errors before the upgrade', severity: 'SEV2' });
  const secrets = await ok(http<{ total_values: number; unreadable: number; not_sealed: number }>(`${url}/v1/secrets/status`, { key }));
  expect(secrets.total_values).toBe(before.secrets.total_values);
  expect(secrets).toMatchObject({ unreadable: 0, not_sealed: 0 });
  expect((await ok(http<{ secrets: { name: string }[] }>(`${url}/v1/paging/secrets`, { key }))).secrets.map((s) => s.name)).toContain('hook-signing');
  // The integration key the old version issued still authenticates an alert.
  const alert = await http(`${url}/v1/integrations/events-v2`, {
    json: { routing_key: before.integrationKey, event_action: 'trigger', dedup_key: 'after-upgrade', payload: { summary: 'after the upgrade', source: 'upgrade-test', severity: 'warning' } },
  });
  expect(alert.status, JSON.stringify(alert.body)).toBe(202);
}

describe('upgrade from the previous release', () => {
  const release = previousRelease();
  let work: string;
  let previousBin: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'keel-upgrade-'));
    const src = join(work, `keel-${release.version}`);
    mkdirSync(src);
    await run('git', ['-C', ROOT, 'cat-file', '-e', `${release.commit}^{commit}`]).catch(() => {
      throw new Error(`the ${release.version} release commit ${release.commit} is not in this clone's history (a shallow clone?): the upgrade test needs it`);
    });
    await run('sh', ['-c', `git -C "${ROOT}" archive ${release.commit} | tar -x -C "${src}"`]);
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
    // A dependency the release had and this version dropped (@fastify/helmet): installed beside it,
    // in the parent directory, where Node and tsc look after the shared node_modules.
    const dropped = droppedDependencies(join(src, 'package.json'));
    if (dropped.length) await run('npm', ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', work, ...dropped], { cwd: work });
    await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(src, 'tsconfig.build.json')], { cwd: src });
    previousBin = join(src, 'bin/keel.js');
    const v = await run(process.execPath, [previousBin, '--version']);
    expect(v.stdout.trim()).toBe(release.version);
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('embedded: a data dir written by the previous release opens with everything in it', async () => {
    const dataDir = join(work, 'data');
    const key = `keel_upgrade_${randomBytes(12).toString('hex')}`;
    const prev = await startKeel(previousBin, dataDir, key, [], {});
    let before: Written;
    try {
      before = await writeWithPrevious(prev.url, key);
    } finally {
      await stop(prev.child);
    }
    const migrated = await run(process.execPath, [KEEL_BIN, 'migrate', '--data-dir', dataDir]);
    expect(migrated.stdout).toContain('sqlite schema is up to date');
    const cur = await startKeel(KEEL_BIN, dataDir, key, [], {});
    try {
      await checkWithCurrent(cur.url, key, before);
    } finally {
      await stop(cur.child);
    }
  }, 300_000);

  it('distributed: a PostgreSQL schema and JetStream stream written by the previous release', async () => {
    const names = uniqueNames('upgrade');
    const env = clusterEnv(names);
    const key = `keel_upgrade_${randomBytes(12).toString('hex')}`;
    try {
      const prev = await startKeel(previousBin, join(work, 'dist-prev'), key, ['--role', 'all'], env);
      let before: Written;
      try {
        before = await writeWithPrevious(prev.url, key);
      } finally {
        await stop(prev.child);
      }
      await run(process.execPath, [KEEL_BIN, 'migrate'], { env: { ...process.env, ...env } });
      const cur = await startKeel(KEEL_BIN, join(work, 'dist-cur'), key, ['--role', 'all'], env);
      try {
        await checkWithCurrent(cur.url, key, before);
      } finally {
        await stop(cur.child);
      }
    } finally {
      await cleanup(names);
    }
  }, 300_000);
});
