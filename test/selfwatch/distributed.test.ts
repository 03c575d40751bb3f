/**
 * Keel's own SLOs in the distributed mode: each role records its own outcomes (ingest answers on
 * the ingest process, freshness on the worker), and a 503 `unavailable` answered while NATS is
 * down is recorded once NATS is back and counted as bad by ingest-availability. A NATS server of
 * the test's own (SIGKILLed and restarted), the machine's PostgreSQL in a fresh schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_ADMIN_KEY, KeelCluster } from '../helpers/cluster.js';
import { uniqueNames } from '../helpers/dist.js';
import { http, ndjson } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';
import { startNatsServer, type NatsServer } from '../helpers/services.js';
import { PG_URL } from '../helpers/stores.js';

let nats: NatsServer;
let cluster: KeelCluster;
let ingestUrl: string;
let sk: string;

beforeAll(async () => {
  nats = await startNatsServer();
  const names = uniqueNames('selfslo');
  cluster = new KeelCluster({
    nats: { url: nats.url, stream: names.stream, subjectPrefix: names.prefix, partitions: 2, ackWait: '3s', publishTimeout: '1s' },
    postgres: { url: PG_URL, schema: names.schema },
    slo: { evaluationInterval: '1s' },
    selfMonitoring: { flushInterval: '200ms' },
  });
  ingestUrl = (await cluster.spawn('ingest,api')).url;
  await cluster.spawn('worker,evaluator');
  sk = await cluster.createKey(ingestUrl, 'keel-system', ['admin']);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  await nats?.kill();
  nats?.cleanup();
});

async function availability(): Promise<{ good: number; total: number } | undefined> {
  const r = await http(`${ingestUrl}/v1/slos`, { key: sk });
  if (r.status !== 200) return undefined;
  return (r.body.slos as { name: string; objectives: { events: { good: number; total: number } }[] }[]).find((s) => s.name === 'ingest-availability')?.objectives[0]?.events;
}

const post = (body: string) => http(`${ingestUrl}/v1/events`, { key: CLUSTER_ADMIN_KEY, headers: { 'content-type': 'application/x-ndjson' }, body });

describe('self SLOs in the distributed mode', () => {
  it('each role records its own outcomes; 503s answered while NATS is down are counted as bad once it is back', async () => {
    for (let i = 0; i < 4; i++) expect((await post(ndjson([{ i }]))).status).toBe(202);
    await waitFor('4 good ingest answers counted', async () => (await availability())?.total === 4, 60_000);

    await nats.kill('SIGKILL');
    await waitFor(
      'ingest refusing with unavailable',
      async () => {
        const r = await post(ndjson([{ probe: 1 }]));
        return r.status === 503 && r.body.error.code === 'unavailable';
      },
      30_000,
    );
    for (let i = 0; i < 3; i++) {
      const r = await post(ndjson([{ down: i }]));
      expect(r.status).toBe(503);
    }
    await nats.restart();

    // Every answer while down was a 503: at least the 3 above plus the probe that saw it.
    const counted = await waitFor(
      'the 503s counted as bad',
      async () => {
        const e = await availability();
        return e && e.total - e.good >= 4 && e.good === 4 ? e : undefined;
      },
      90_000,
    );
    expect(counted.good).toBe(4);

    const events = await http(`${ingestUrl}/v1/events?limit=1000`, { key: sk });
    expect(events.status).toBe(200);
    const roles = new Map<string, Set<string>>();
    for (const e of events.body.events as { signal: string; role: string }[]) roles.set(e.signal, (roles.get(e.signal) ?? new Set()).add(e.role));
    expect([...(roles.get('ingest') ?? [])]).toEqual(['ingest,api']);
    expect([...(roles.get('freshness') ?? [])]).toEqual(['worker,evaluator']);
  }, 300_000);
});
