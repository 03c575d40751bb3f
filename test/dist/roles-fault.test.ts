/**
 * Two ingest, two worker and two evaluator processes (plus an api) on the NATS JetStream and
 * PostgreSQL of this machine, under load; one of each is SIGKILLed at a random moment (the
 * evaluator killed is the current leader). Every event the client saw acknowledged is counted
 * exactly once, and leader-only work moves to the standby within seconds, never on two at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckedLoad } from '../helpers/acked-load.js';
import { CLUSTER_ADMIN_KEY, KeelCluster, expectCountedExactlyOnce, overlappingTenures, type Tenure } from '../helpers/cluster.js';
import { cleanup, uniqueNames, type ClusterNames } from '../helpers/dist.js';
import { http } from '../helpers/keel.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';

let names: ClusterNames;
let cluster: KeelCluster;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

beforeAll(async () => {
  names = uniqueNames('roles');
  cluster = new KeelCluster({
    nats: { url: NATS_URL, stream: names.stream, subjectPrefix: names.prefix, partitions: 4, ackWait: '3s' },
    postgres: { url: PG_URL, schema: names.schema },
  });
  // The api first: it runs migrations and bootstrap; the others start together.
  await cluster.spawn('api');
  await Promise.all(['ingest', 'ingest', 'worker', 'worker', 'evaluator', 'evaluator'].map((r) => cluster.spawn(r)));
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  if (names) await cleanup(names);
});

async function tenures(api: string, name: string): Promise<Tenure[]> {
  const r = await http(`${api}/v1/cluster/leaders?name=${name}`, { key: CLUSTER_ADMIN_KEY });
  expect(r.status).toBe(200);
  return r.body.tenures;
}

describe('distributed roles under load with one of each SIGKILLed', () => {
  it('counts every acknowledged event exactly once and keeps one leader at a time', async () => {
    const api = cluster.live('api')[0]!.url;
    const keys = { acme: await cluster.createKey(api, 'acme', ['ingest']), globex: await cluster.createKey(api, 'globex', ['ingest']) };
    const load = new AckedLoad({ urls: () => cluster.live('ingest').map((p) => p.url), keys, batch: 250, concurrency: 6, pauseMs: 5, label: 'roles' });
    load.start();

    await sleep(1_500 + Math.random() * 1_500);
    const ingestVictim = pick(cluster.live('ingest'));
    await cluster.kill(ingestVictim);
    const ingestKilledAt = Date.now();

    await sleep(1_000 + Math.random() * 1_500);
    await cluster.kill(pick(cluster.live('worker')));

    await sleep(1_000 + Math.random() * 1_500);
    const leaders = await tenures(api, 'usage-retention');
    const current = leaders.find((t) => t.ended_at === null)!;
    const evaluatorVictim = cluster.live('evaluator').find((p) => current.holder.includes(`:${p.child.pid}:`))!;
    expect(evaluatorVictim).toBeDefined();
    await cluster.kill(evaluatorVictim);
    const evaluatorKilledAt = Date.now();

    await sleep(3_000);
    await load.stop();
    expect(load.acceptedSince(ingestKilledAt)).toBeGreaterThan(0);

    // Invariants. Paging adds its block here: no alert notification sent twice; escalation continues.
    const invariants: [string, () => Promise<void>][] = [
      [
        'every acknowledged event is counted exactly once',
        async () => {
          const counted = await expectCountedExactlyOnce(() => cluster.live('api')[0]!.url, load.acked);
          expect(counted.acme! + counted.globex!).toBe(load.ackedTotal());
          expect(load.ackedTotal()).toBeGreaterThan(5_000);
        },
      ],
      [
        'leader-only work ran on one live evaluator at a time and moved within seconds',
        async () => {
          for (const name of ['usage-retention', 'log-retention']) {
            const all = await tenures(api, name);
            expect(overlappingTenures(all)).toEqual([]);
            expect(all.every((t) => t.holder.startsWith('evaluator@'))).toBe(true);
            const survivor = cluster.live('evaluator')[0]!;
            const takeover = all.find((t) => t.holder.includes(`:${survivor.child.pid}:`) && t.started_at >= evaluatorKilledAt - 1_000);
            expect(takeover, `${name} taken over by the surviving evaluator`).toBeDefined();
            expect(takeover!.started_at - evaluatorKilledAt).toBeLessThan(10_000);
          }
        },
      ],
      [
        'surviving processes are ready',
        async () => {
          for (const p of cluster.live()) {
            const r = await http(`${p.url}/readyz`);
            expect({ role: p.role, status: r.status, body: r.body.status }).toEqual({ role: p.role, status: 200, body: 'ready' });
            expect(r.body.role).toBe(p.role);
          }
        },
      ],
    ];
    for (const [what, check] of invariants) {
      try {
        await check();
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message} (process logs: ${cluster.dumpLogs()})`);
      }
    }
  }, 180_000);
});
