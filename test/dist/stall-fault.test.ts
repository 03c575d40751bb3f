/**
 * Processes that stall instead of dying (SIGSTOP, as a long GC pause or a frozen VM would), under
 * load, on the NATS JetStream and PostgreSQL of this machine:
 *  - the evaluator leading paging is stopped for 14 s between two escalation steps: a standby
 *    takes its leases over while it is stopped (a lease, not a lock its open socket keeps), pages
 *    the next step on time, and when the stalled leader resumes it finds its leases gone: nothing
 *    is paged twice and its tenures never overlap the new ones;
 *  - a worker is stopped for 14 s: when it resumes, every partition it holds makes progress again
 *    (a progress watchdog restarts a partition that holds a backlog and does not advance, and
 *    says so), and `keel_log_partition_stalled_seconds` shows each partition's stall.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckedLoad } from '../helpers/acked-load.js';
import {
  CLUSTER_ADMIN_KEY,
  KeelCluster,
  applyLoadSlo,
  clusterTwoStepPaging,
  expectCountedExactlyOnce,
  openIncidentAndPageAnn,
  overlappingTenures,
  sample,
  scrape,
  loadSloEvents,
  tenuresOf,
  usageTotals,
  verifyCounts,
} from '../helpers/cluster.js';
import { cleanup, uniqueNames, type ClusterNames } from '../helpers/dist.js';
import { http } from '../helpers/keel.js';
import { startReceiver, waitFor, type Receiver } from '../helpers/paging.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';

const LEADER_POLL_MS = 500;
const LEADER_LEASE_MS = 3_000;
const STALL_MS = 14_000;

let names: ClusterNames;
let cluster: KeelCluster;
let rx: Receiver;
const stopped = new Set<number>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  names = uniqueNames('stall');
  rx = await startReceiver();
  cluster = new KeelCluster({
    nats: { url: NATS_URL, stream: names.stream, subjectPrefix: names.prefix, partitions: 2, ackWait: '3s' },
    postgres: { url: PG_URL, schema: names.schema },
    cluster: { leaderPoll: `${LEADER_POLL_MS}ms`, leaderLease: `${LEADER_LEASE_MS}ms` },
    paging: { pollInterval: '100ms', delivery: { maxAttempts: 5, initialBackoff: '100ms', maxBackoff: '1s' } },
  });
  await cluster.spawn('api,ingest');
  await Promise.all(['worker', 'worker', 'evaluator', 'evaluator'].map((r) => cluster.spawn(r)));
}, 240_000);

afterAll(async () => {
  // A stopped process would never act on SIGTERM.
  for (const pid of stopped) process.kill(pid, 'SIGCONT');
  await cluster?.stop();
  await rx?.close();
  if (names) await cleanup(names);
});

describe('a stalled leader', () => {
  it('is replaced within the lease while it is stopped, and is fenced when it resumes', async () => {
    const api = cluster.live('api,ingest')[0]!.url;
    const routingKey = await clusterTwoStepPaging(api, rx.url, '6s');
    const keys = { acme: await cluster.createKey(api, 'acme', ['ingest']) };
    const load = new AckedLoad({ urls: () => [api], keys, batch: 200, concurrency: 3, pauseMs: 10, label: 'stall' });
    load.start();

    const { incident, next } = await openIncidentAndPageAnn(api, rx, routingKey, 'stall-1');
    expect(next.step).toBe(1);
    const leaderNames = ['paging', 'usage-retention', 'log-retention'];
    const holderOf = async (name: string) => (await tenuresOf(api, name))[0]!.holder;
    const pagingHolder = await holderOf('paging');
    const victim = cluster.live('evaluator').find((p) => pagingHolder.includes(`:${p.child.pid}:`))!;
    expect(victim).toBeDefined();
    const victimLed = new Set<string>();
    for (const name of leaderNames) if ((await holderOf(name)).includes(`:${victim.child.pid}:`)) victimLed.add(name);

    process.kill(victim.child.pid!, 'SIGSTOP');
    stopped.add(victim.child.pid!);
    const stoppedAt = Date.now();
    expect(stoppedAt).toBeLessThan(Date.parse(next.at)); // stopped between the two steps

    // While it is stopped, the standby takes every lease it held and pages ben on time.
    const survivor = cluster.live('evaluator').find((p) => p !== victim)!;
    const mine = (t: { holder: string }) => t.holder.includes(`:${survivor.child.pid}:`);
    const takeovers = new Map<string, number>();
    await waitFor(
      'the standby to take every leadership over',
      async () => {
        for (const name of victimLed) {
          const all = await tenuresOf(api, name);
          const t = all.find((x) => mine(x) && x.started_at >= stoppedAt - LEADER_LEASE_MS);
          const old = all.find((x) => x.holder.includes(`:${victim.child.pid}:`));
          if (t && old) takeovers.set(name, t.started_at - old.beat_at);
        }
        return takeovers.size === victimLed.size;
      },
      STALL_MS - 2_000,
    );
    const benPage = await waitFor('ben to be paged by the standby', () => rx.requests.find((x) => x.path === '/ben'), STALL_MS);
    expect(Date.now() - stoppedAt, 'all of this happened while the leader was stopped').toBeLessThan(STALL_MS);
    // Measured, for docs/distributed.md: takeover after the stalled leader's last renewal.
    console.info(`takeover after the last heartbeat (ms): ${JSON.stringify(Object.fromEntries(takeovers))}`);

    await sleep(Math.max(0, stoppedAt + STALL_MS - Date.now()));
    process.kill(victim.child.pid!, 'SIGCONT');
    stopped.delete(victim.child.pid!);
    // It notices on resuming that its leases ran out, and says so.
    await waitFor('the resumed leader to notice', () => victim.stderr().includes('the lease ran out'), 20_000);
    await sleep(3_000); // time for anything it still had queued (escalation timers, deliveries) to try

    await load.stop();
    const checks: [string, () => Promise<void>][] = [
      [
        'no notification was delivered twice and each escalation step ran once',
        async () => {
          const deliveries = rx.requests.map((x) => x.headers['x-keel-delivery']);
          expect(new Set(deliveries).size).toBe(deliveries.length);
          expect(rx.requests.map((x) => x.path).sort()).toEqual(['/ann', '/ben']);
          expect(benPage.body.incident.id).toBe(incident);
          const timeline = (await http(`${api}/v1/incidents/${incident}/timeline?type=escalation`, { key: CLUSTER_ADMIN_KEY })).body.timeline as {
            data: { step: number };
          }[];
          expect(timeline.map((e) => e.data.step)).toEqual([0, 1]);
        },
      ],
      [
        'the stalled leader wrote nothing after losing its leases (its tenures end before the new ones start)',
        async () => {
          for (const name of leaderNames) {
            const all = await tenuresOf(api, name);
            expect(overlappingTenures(all)).toEqual([]);
          }
          const m = await http(`${victim.url}/metrics`);
          for (const name of leaderNames) expect(m.text).toContain(`keel_cluster_leader{leadership="${name}"} 0`);
        },
      ],
      [
        'every acknowledged event is counted exactly once, and the counters agree with the log',
        async () => {
          await expectCountedExactlyOnce(() => api, load.acked);
          await verifyCounts(api);
        },
      ],
    ];
    for (const [what, check] of checks) {
      try {
        await check();
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message} (process logs: ${cluster.dumpLogs()})`);
      }
    }
  }, 180_000);
});

describe('a stalled worker', () => {
  it('makes progress again on every partition after it resumes, and its stalls are measured', async () => {
    const api = cluster.live('api,ingest')[0]!.url;
    const keys = { globex: await cluster.createKey(api, 'globex', ['ingest']) };
    // An SLO over the load: its totals are checked under the stall too.
    const globexAdmin = await cluster.createKey(api, 'globex', ['admin', 'read']);
    const slo = await applyLoadSlo(api, globexAdmin, 'globex');
    const load = new AckedLoad({ urls: () => [api], keys, batch: 200, concurrency: 3, pauseMs: 10, label: 'wstall' });
    load.start();
    await sleep(2_000);
    const [victim, other] = cluster.live('worker');
    process.kill(victim!.child.pid!, 'SIGSTOP');
    stopped.add(victim!.child.pid!);
    await sleep(STALL_MS);
    process.kill(victim!.child.pid!, 'SIGCONT');
    stopped.delete(victim!.child.pid!);
    const resumedAt = Date.now();
    // Both workers hold partitions again (the resumed one claims its share back) ...
    await waitFor(
      'the resumed worker to process partitions again',
      async () => sample((await scrape(victim!.url, 10_000)).text, 'keel_log_partitions_owned{consumer="usage"}')! > 0,
      60_000,
    );
    await sleep(3_000);
    await load.stop();
    // ... and every partition catches up with what was acknowledged.
    try {
      await expectCountedExactlyOnce(() => api, new Map([...load.acked, ['acme', (await usageTotals(api)).acme ?? 0]]), 60_000);
    } catch (e) {
      throw new Error(`${(e as Error).message} (process logs: ${cluster.dumpLogs()})`);
    }
    // The SLO counted every acknowledged event once: 200 per batch, the first of each bad.
    const total = load.ackedTotal();
    const sloEvents = await waitFor('the SLO to count every acknowledged event', async () => {
      const e = await loadSloEvents(api, globexAdmin);
      return e.total >= total ? e : undefined;
    }, 60_000);
    expect(sloEvents).toEqual({ good: total - total / 200, bad: total / 200, total });
    await verifyCounts(api, 0, [slo]);
    for (const w of [victim!, other!]) {
      const m = (await scrape(w.url, 10_000)).text;
      for (let p = 0; p < 2; p++) expect(sample(m, `keel_log_partition_stalled_seconds{consumer="usage",partition="${p}"}`)).toBeGreaterThanOrEqual(0);
    }
    console.info(`the resumed worker processed again ${Date.now() - resumedAt} ms after SIGCONT (including the final drain)`);
  }, 180_000);
});
