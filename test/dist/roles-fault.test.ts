/**
 * Two ingest, two worker and two evaluator processes (plus an api) on the NATS JetStream and
 * PostgreSQL of this machine, under load; one of each is SIGKILLed at a random moment (the
 * evaluator killed is the current paging leader, between two steps of an escalation). Every event
 * the client saw acknowledged is counted exactly once, leader-only work moves to the standby within
 * seconds, never on two at once, escalation carries on, and no notification is delivered twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckedLoad } from '../helpers/acked-load.js';
import { CLUSTER_ADMIN_KEY, KeelCluster, clusterTwoStepPaging, expectCountedExactlyOnce, openIncidentAndPageAnn, overlappingTenures, tenuresOf, verifyCounts } from '../helpers/cluster.js';
import { cleanup, uniqueNames, type ClusterNames } from '../helpers/dist.js';
import { http } from '../helpers/keel.js';
import { startReceiver, waitFor, type Receiver } from '../helpers/paging.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';

let names: ClusterNames;
let cluster: KeelCluster;
let rx: Receiver;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

beforeAll(async () => {
  names = uniqueNames('roles');
  rx = await startReceiver();
  cluster = new KeelCluster({
    nats: { url: NATS_URL, stream: names.stream, subjectPrefix: names.prefix, partitions: 4, ackWait: '3s' },
    postgres: { url: PG_URL, schema: names.schema },
    paging: { pollInterval: '100ms', delivery: { maxAttempts: 5, initialBackoff: '100ms', maxBackoff: '1s' } },
  });
  // The api first: it runs migrations and bootstrap; the others start together.
  await cluster.spawn('api');
  await Promise.all(['ingest', 'ingest', 'worker', 'worker', 'evaluator', 'evaluator'].map((r) => cluster.spawn(r)));
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  await rx?.close();
  if (names) await cleanup(names);
});

describe('distributed roles under load with one of each SIGKILLed', () => {
  it('counts every acknowledged event exactly once, keeps one leader at a time, and pages each escalation step once', async () => {
    const api = cluster.live('api')[0]!.url;
    const admin = (path: string, init: Parameters<typeof http>[1] = {}) => http(`${api}${path}`, { key: CLUSTER_ADMIN_KEY, ...init });
    // Paging: ann first, ben when ann has not acknowledged after a few seconds.
    const routingKey = await clusterTwoStepPaging(api, rx.url, '6s');
    const keys = { acme: await cluster.createKey(api, 'acme', ['ingest']), globex: await cluster.createKey(api, 'globex', ['ingest']) };
    const load = new AckedLoad({ urls: () => cluster.live('ingest').map((p) => p.url), keys, batch: 250, concurrency: 6, pauseMs: 5, label: 'roles' });
    load.start();

    await sleep(1_500 + Math.random() * 1_500);
    const ingestVictim = pick(cluster.live('ingest'));
    await cluster.kill(ingestVictim);
    const ingestKilledAt = Date.now();

    await sleep(1_000 + Math.random() * 1_500);
    await cluster.kill(pick(cluster.live('worker')));

    // An incident pages ann; the paging leader dies after her page is recorded, before ben's step is due.
    const { incident, next } = await openIncidentAndPageAnn(api, rx, routingKey, 'roles-1');
    expect(next.step).toBe(1);
    const leaderNames = ['usage-retention', 'log-retention', 'paging'];
    const currentHolders = new Map<string, string>();
    for (const name of leaderNames) currentHolders.set(name, (await tenuresOf(api, name)).find((t) => t.ended_at === null)!.holder);
    const evaluatorVictim = cluster.live('evaluator').find((p) => currentHolders.get('paging')!.includes(`:${p.child.pid}:`))!;
    expect(evaluatorVictim).toBeDefined();
    await cluster.kill(evaluatorVictim);
    const evaluatorKilledAt = Date.now();
    expect(evaluatorKilledAt).toBeLessThan(Date.parse(next.at)); // killed between the two steps

    const benPage = await waitFor('ben to be paged by the surviving evaluator', () => rx.requests.find((x) => x.path === '/ben'), 30_000);
    await sleep(1_500);
    await load.stop();
    expect(load.acceptedSince(ingestKilledAt)).toBeGreaterThan(0);

    const invariants: [string, () => Promise<void>][] = [
      [
        'every acknowledged event is counted exactly once, and the counters agree with the log',
        async () => {
          const counted = await expectCountedExactlyOnce(() => cluster.live('api')[0]!.url, load.acked);
          expect(counted.acme! + counted.globex!).toBe(load.ackedTotal());
          expect(load.ackedTotal()).toBeGreaterThan(5_000);
          await verifyCounts(cluster.live('api')[0]!.url);
        },
      ],
      [
        'leader-only work ran on one live evaluator at a time and moved within seconds',
        async () => {
          for (const name of leaderNames) {
            const all = await tenuresOf(api, name);
            expect(overlappingTenures(all)).toEqual([]);
            expect(all.every((t) => t.holder.startsWith('evaluator@'))).toBe(true);
            if (!currentHolders.get(name)!.includes(`:${evaluatorVictim.child.pid}:`)) continue;
            const survivor = cluster.live('evaluator')[0]!;
            const takeover = all.find((t) => t.holder.includes(`:${survivor.child.pid}:`) && t.started_at >= evaluatorKilledAt - 1_000);
            expect(takeover, `${name} taken over by the surviving evaluator`).toBeDefined();
            expect(takeover!.started_at - evaluatorKilledAt).toBeLessThan(10_000);
          }
        },
      ],
      [
        'escalation carried on after the paging leader died, and no notification was delivered twice',
        async () => {
          expect(benPage.body.incident.id).toBe(incident);
          expect(benPage.body.escalation).toEqual({ policy: 'two-steps', pass: 0, step: 1 });
          expect(benPage.at).toBeGreaterThanOrEqual(Date.parse(next.at));
          const deliveries = rx.requests.map((x) => x.headers['x-keel-delivery']);
          expect(deliveries.every((d) => typeof d === 'string' && d.length > 0)).toBe(true);
          expect(new Set(deliveries).size).toBe(deliveries.length);
          expect(rx.requests.map((x) => x.path).sort()).toEqual(['/ann', '/ben']);
          const timeline = (await admin(`/v1/incidents/${incident}/timeline?type=escalation`)).body.timeline as { data: { step: number } }[];
          expect(timeline.map((e) => e.data.step)).toEqual([0, 1]);
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
