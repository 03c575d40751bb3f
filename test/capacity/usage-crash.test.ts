/**
 * Exactly-once usage in the embedded mode across kill -9: Keel (a child process) is SIGKILLed
 * under load and started again on the same data dir; the client retries every request with its
 * Idempotency-Key until acknowledged, and the usage counters equal what it saw acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { AckedLoad } from '../helpers/acked-load.js';
import { CLUSTER_ADMIN_KEY, expectCountedExactlyOnce } from '../helpers/cluster.js';
import { http } from '../helpers/keel.js';

const dataDir = mkdtempSync(join(tmpdir(), 'keel-usage-crash-'));
let keel: KeelProcess | undefined;

afterAll(async () => {
  await keel?.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('usage after kill -9 (embedded)', () => {
  it('counts every acknowledged event exactly once', async () => {
    const port = await freePort();
    keel = await spawnKeel({ dataDir, port, adminKey: CLUSTER_ADMIN_KEY });
    const r = await http(`${keel.url}/v1/keys`, { key: CLUSTER_ADMIN_KEY, json: { tenant: 'acme', scopes: ['ingest'] } });
    expect(r.status).toBe(201);
    const url = keel.url;
    const load = new AckedLoad({ urls: () => [url], keys: { acme: r.body.key }, batch: 300, concurrency: 4, label: 'crash' });
    load.start();
    await new Promise((res) => setTimeout(res, 1_500 + Math.random() * 1_000));
    await keel.stop('SIGKILL');
    const before = load.ackedTotal();
    keel = await spawnKeel({ dataDir, port, adminKey: CLUSTER_ADMIN_KEY });
    await new Promise((res) => setTimeout(res, 1_000));
    await load.stop();
    expect(load.ackedTotal()).toBeGreaterThan(before);
    await expectCountedExactlyOnce(() => url, load.acked);
  });
});
