/**
 * The metric names Keel really exports: starts real Keel processes (the embedded default, and the
 * distributed roles on the machine's NATS and PostgreSQL) and scrapes their /metrics. The
 * deployment tests check the autoscalers, alert rules and dashboard against these, never against
 * a list written by hand.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { spawnKeel, type KeelProcess } from '../../../src/bench/spawn-keel.js';
import { cleanup, uniqueNames, type ClusterNames } from '../../helpers/dist.js';
import { NATS_URL, PG_URL } from '../../helpers/stores.js';

export interface Scrape {
  /** The process's Prometheus text. */
  text: string;
  /** Metric family names declared by `# TYPE` lines. */
  families: Set<string>;
}

export function parseFamilies(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await request(`${url}/metrics`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url}/metrics answered ${res.statusCode}`);
  return { text, families: parseFamilies(text) };
}

/** Scrapes until `ready` holds (a process creates some series shortly after it is ready). */
export async function scrapeUntil(url: string, ready: (s: Scrape) => boolean, timeoutMs = 30_000): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape(url);
    if (ready(s) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The environment of a distributed Keel on this machine's NATS and PostgreSQL, in names of its own. */
export function clusterEnv(names: ClusterNames): Record<string, string> {
  return {
    KEEL_NATS_URL: NATS_URL,
    KEEL_POSTGRES_URL: PG_URL,
    KEEL_POSTGRES_SCHEMA: names.schema,
    KEEL_NATS_STREAM: names.stream,
    KEEL_NATS_SUBJECT_PREFIX: names.prefix,
    KEEL_PARTITIONS: '2',
    KEEL_SECRET_KEY: randomBytes(32).toString('hex'),
  };
}

export interface LiveKeel {
  /** role → its scrape: `embedded`, and each distributed role. */
  scrapes: Map<string, Scrape>;
  stop(): Promise<void>;
}

/** Starts the embedded default and one process per distributed role, and scrapes each once. */
export async function startAndScrape(roles: string[] = ['ingest', 'worker', 'evaluator', 'api']): Promise<LiveKeel> {
  const names = uniqueNames('deploy');
  const env = clusterEnv(names);
  const procs: KeelProcess[] = [];
  const scrapes = new Map<string, Scrape>();
  const stop = async () => {
    for (const p of procs.reverse()) {
      await p.stop().catch(() => undefined);
      p.cleanup();
    }
    await cleanup(names);
  };
  try {
    const embedded = await spawnKeel();
    procs.push(embedded);
    scrapes.set('embedded', await scrape(embedded.url));
    // The api role first: it bootstraps the cluster (tenant, admin key) the others share.
    for (const role of ['api', ...roles.filter((r) => r !== 'api')]) {
      const p = await spawnKeel({ args: ['--role', role], env, ...(procs[1] ? { adminKey: procs[1].adminKey } : {}) });
      procs.push(p);
    }
    // Scrape once every role runs and the workers have created their consumers (the lag gauge
    // has a sample per consumer and partition from then on).
    for (const [i, role] of ['api', ...roles.filter((r) => r !== 'api')].entries()) {
      const url = procs[i + 1]!.url;
      scrapes.set(role, role === 'worker' ? await scrapeUntil(url, (s) => /^keel_log_consumer_lag_events\{/m.test(s.text)) : await scrape(url));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { scrapes, stop };
}
