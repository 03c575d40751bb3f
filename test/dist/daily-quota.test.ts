/**
 * The daily volume quota in the distributed mode: two ingest instances (processes' worth of
 * Keel, each with its own PostgreSQL pool, on one JetStream stream) sending for one tenant in
 * parallel; the events accepted in all never exceed the quota, and fall short of it by at most
 * one lease per instance (docs/capacity.md, Margin); the usage processor counts exactly what was
 * accepted, and the 100 % notice is raised by the evaluator.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import type { Roles } from '../../src/module/context.js';
import { startDistributed, type DistributedInstance } from '../../src/runtime/distributed.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { cleanup, uniqueNames, type ClusterNames } from '../helpers/dist.js';
import { ADMIN_KEY, http, ndjson } from '../helpers/keel.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';

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
      'nats.url': NATS_URL,
      'nats.stream': names.stream,
      'nats.subjectPrefix': names.prefix,
      'nats.partitions': 2,
      'postgres.url': PG_URL,
      'postgres.schema': names.schema,
      'secrets.keyFile': keyFile,
      'cluster.leaderPoll': 200,
      'capacity.sampleInterval': 500,
    },
  });
  const keel = await startDistributed({ config, logger: createLogger('silent'), roles, bootstrapKey: ADMIN_KEY, warn: () => undefined });
  instances.push(keel);
  return keel;
}

beforeAll(async () => {
  names = uniqueNames('dq');
  dir = mkdtempSync(join(tmpdir(), 'keel-dist-dq-'));
  keyFile = join(dir, 'secret.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'));
});

afterAll(async () => {
  for (const k of instances.reverse()) await k.close();
  if (names) await cleanup(names);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('daily quota across two ingest instances', () => {
  it('never accepts more than the quota in all; refuses with 429 naming it', async () => {
    const main = await start({ ingest: true, worker: true, evaluator: true, api: true });
    const second = await start({ ingest: true, worker: false, evaluator: false, api: false });
    expect((await http(`${main.url}/v1/tenants`, { key: ADMIN_KEY, json: { id: 'capped' } })).status).toBe(201);
    const ingest = (await http(`${main.url}/v1/keys`, { key: ADMIN_KEY, json: { tenant: 'capped', scopes: ['ingest'] } })).body.key as string;
    const reader = (await http(`${main.url}/v1/keys`, { key: ADMIN_KEY, json: { tenant: 'capped', scopes: ['read'] } })).body.key as string;
    // 20,000 a day: leases of max(100, 20,000/200) = 100 events.
    expect((await http(`${main.url}/v1/capacity/quotas/capped`, { method: 'PUT', key: ADMIN_KEY, json: { eventsPerDay: 20_000 } })).status).toBe(200);

    const refusals: string[] = [];
    async function sender(url: string): Promise<number> {
      let accepted = 0;
      let refused = 0;
      // Batches of 37 events until three refusals in a row.
      while (refused < 3) {
        const r = await http(`${url}/v1/events`, { method: 'POST', key: ingest, body: ndjson(Array.from({ length: 37 }, (_, i) => ({ i }))), headers: { 'content-type': 'application/x-ndjson' } });
        if (r.status === 202) {
          accepted += r.body.accepted;
          refused = 0;
        } else {
          expect(r.status).toBe(429);
          refusals.push(r.body.error.message);
          refused++;
        }
      }
      return accepted;
    }
    const accepted = await Promise.all([sender(main.url), sender(main.url), sender(second.url), sender(second.url)]);
    const sum = accepted.reduce((a, b) => a + b, 0);
    expect(sum).toBeLessThanOrEqual(20_000);
    // Margin: one lease (100) per instance, plus a request's 37 that did not fit the rest.
    expect(sum).toBeGreaterThanOrEqual(20_000 - 2 * 100 - 37);
    expect(accepted[2]! + accepted[3]!).toBeGreaterThan(0);
    expect(accepted[0]! + accepted[1]!).toBeGreaterThan(0);
    expect(refusals[0]).toContain('tenant "capped" is over its daily volume quota of 20000 events/day');

    // Counted exactly once by the usage processor: the same sum; and the 100 % notice fires
    // once the stored events reach the quota — they may stop short by the margin, so the 80 % one.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const u = await http(`${main.url}/v1/usage?from=now-1h`, { key: reader });
      const counted = u.body.totals?.find((x: { tenant: string }) => x.tenant === 'capped')?.events ?? 0;
      const alerts = (await http(`${main.url}/v1/paging/alerts?limit=50`, { key: reader })).body.alerts ?? [];
      const notice = alerts.find((a: { dedup_key: string; status: string }) => a.dedup_key === 'capacity:tenant.capped.daily:80' && a.status === 'firing');
      if (counted === sum && notice) break;
      if (Date.now() > deadline) throw new Error(`counted ${counted} of ${sum}; alerts ${JSON.stringify(alerts.map((a: { dedup_key: string }) => a.dedup_key))}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    // The distributed mode's own limits are tracked too: the stream and PostgreSQL.
    const report = (await http(`${main.url}/v1/capacity`, { key: ADMIN_KEY })).body.limits as { id: string; usage: number; capacity: number | null }[];
    const byId = new Map(report.map((l) => [l.id, l]));
    for (const id of ['stream.bytes', 'stream.messages', 'postgres.size', 'postgres.connections', 'node.ingest', 'tenant.capped.rate', 'tenant.capped.daily', 'consumer.usage.lag']) expect(byId.has(id), id).toBe(true);
    expect(byId.get('stream.messages')!.usage).toBeGreaterThan(0);
    expect(byId.get('postgres.connections')!.capacity).toBeGreaterThan(0);
    // Two live ingest members × the measured 179,200 events/s per node.
    expect(byId.get('node.ingest')!.capacity).toBe(2 * 179_200);
    expect(byId.get('tenant.capped.daily')!.capacity).toBe(20_000);
  });
});
