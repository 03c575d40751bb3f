/**
 * A three-node NATS cluster of this test's own (loopback ports) with an R3 stream: the node that
 * leads the stream is SIGKILLed under load, and ingest and processing carry on; every event the
 * client saw acknowledged is counted exactly once.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/bench/spawn-keel.js';
import { AckedLoad } from '../helpers/acked-load.js';
import { CLUSTER_ADMIN_KEY, KeelCluster, expectCountedExactlyOnce, usageTotals } from '../helpers/cluster.js';
import { uniqueNames, type ClusterNames } from '../helpers/dist.js';
import { http } from '../helpers/keel.js';
import { startNatsServer, type NatsServer } from '../helpers/services.js';
import { PG_URL, dropSchema } from '../helpers/stores.js';

let names: ClusterNames;
const nodes: (NatsServer & { serverName: string })[] = [];
let cluster: KeelCluster;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The node leading the stream; retried while the cluster elects (slow on a loaded machine). */
async function streamLeader(): Promise<string | undefined> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const live = nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
    const nc = await connect({ servers: live.map((n) => n.url), timeout: 5_000 });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5_000 });
      const leader = (await jsm.streams.info(names.stream)).cluster?.leader;
      if (leader) return leader;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    } finally {
      await nc.close();
    }
    if (Date.now() > deadline) return undefined;
    await sleep(500);
  }
}

beforeAll(async () => {
  names = uniqueNames('r3');
  const clusterPorts = [await freePort(), await freePort(), await freePort()];
  const started = await Promise.all(
    clusterPorts.map((port, i) =>
      startNatsServer({ cluster: { name: 'keeltest', serverName: `n${i + 1}`, port, routes: clusterPorts } }).then((s) => Object.assign(s, { serverName: `n${i + 1}` })),
    ),
  );
  nodes.push(...started);
  cluster = new KeelCluster({
    nats: { url: nodes.map((n) => n.url).join(','), stream: names.stream, subjectPrefix: names.prefix, partitions: 2, replicas: 3, ackWait: '3s', publishTimeout: '5s' },
    postgres: { url: PG_URL, schema: names.schema },
  });
  // The stream is created once the cluster has elected its JetStream meta leader; Keel retries until then.
  await cluster.spawn('ingest,api');
  await cluster.spawn('worker,evaluator');
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  for (const n of nodes) {
    await n.kill();
    n.cleanup();
  }
  if (names) await dropSchema(names.schema).catch(() => undefined);
});

describe('three-node NATS cluster, R3 stream', () => {
  it('keeps ingesting and processing when the stream leader is killed', async () => {
    const api = cluster.live('ingest,api')[0]!.url;
    const keys = { acme: await cluster.createKey(api, 'acme', ['ingest']) };
    const load = new AckedLoad({ urls: () => [api], keys, batch: 200, concurrency: 4, pauseMs: 5, label: 'r3' });
    load.start();
    await sleep(2_000);
    const leader = await streamLeader();
    const victim = nodes.find((n) => n.serverName === leader)!;
    expect(victim).toBeDefined();
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    const countedAtKill = (await usageTotals(api)).acme ?? 0;

    const deadline = Date.now() + 60_000;
    while (load.acceptedSince(killedAt) < 20 || ((await usageTotals(api)).acme ?? 0) <= countedAtKill) {
      if (Date.now() > deadline) throw new Error(`no progress after the kill (process logs: ${cluster.dumpLogs()})`);
      await sleep(200);
    }
    expect(await streamLeader()).not.toBe(leader);
    await load.stop();
    // The stream may hold a batch twice (a publish retried across the leader change, which
    // JetStream's deduplication can miss); the workers count its id once.
    await expectCountedExactlyOnce(() => api, load.acked);

    const doctor = await http(`${api}/v1/doctor`, { key: CLUSTER_ADMIN_KEY });
    const byName = Object.fromEntries((doctor.body.checks as { name: string; status: string }[]).map((c) => [c.name, c.status]));
    expect(byName['nats.replicas']).toBe('ok');
    expect(byName['nats.stream']).toBe('ok');
  }, 180_000);
});
