/**
 * The live processes of a distributed Keel: each refreshes its row in `cluster_members` every few
 * seconds and removes it on a clean stop; a row not refreshed for LIVE_MS is a dead process.
 */
import { hostname } from 'node:os';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';

export const HEARTBEAT_MS = 2_000;
export const LIVE_MS = 10_000;
/** Rows of processes dead this long are removed by whoever refreshes next. */
const FORGET_MS = 86_400_000;

export interface Member {
  id: string;
  role: string;
  host: string;
  pid: number;
  url: string;
  version: string;
  startedAt: number;
  seenAt: number;
  live: boolean;
}

export interface Membership {
  stop(): Promise<void>;
}

export function startMembership(o: { store: Store; id: string; role: string; url: string; version: string; logger: Logger }): Membership {
  const startedAt = Date.now();
  let failing = false;
  const beat = async () => {
    const now = Date.now();
    try {
      await o.store.db
        .insertInto('cluster_members')
        .values({ id: o.id, role: o.role, host: hostname(), pid: process.pid, url: o.url, version: o.version, started_at: startedAt, seen_at: now })
        .onConflict((oc) => oc.column('id').doUpdateSet({ seen_at: now, url: o.url }))
        .execute();
      await o.store.db
        .deleteFrom('cluster_members')
        .where('seen_at', '<', now - FORGET_MS)
        .execute();
      if (failing) o.logger.info('cluster membership heartbeat restored');
      failing = false;
    } catch (err) {
      if (!failing) o.logger.warn({ err }, 'cluster membership heartbeat failed');
      failing = true;
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await o.store.db
        .deleteFrom('cluster_members')
        .where('id', '=', o.id)
        .execute()
        .catch(() => undefined);
    },
  };
}

export async function listMembers(store: Store, now = Date.now()): Promise<Member[]> {
  const rows = await store.db.selectFrom('cluster_members').selectAll().orderBy('role').orderBy('started_at').execute();
  return rows.map((r) => ({
    id: r.id,
    role: r.role,
    host: r.host,
    pid: Number(r.pid),
    url: r.url,
    version: r.version,
    startedAt: Number(r.started_at),
    seenAt: Number(r.seen_at),
    live: now - Number(r.seen_at) < LIVE_MS,
  }));
}

/** Current holder of each leadership: the latest tenure whose beat is recent and not ended. */
export async function currentLeaders(store: Store, now = Date.now()): Promise<{ name: string; holder: string; since: number; beatAt: number }[]> {
  const rows = await store.db
    .selectFrom('leader_tenures')
    .selectAll()
    .where('ended_at', 'is', null)
    .where('beat_at', '>', now - LIVE_MS)
    .orderBy('name')
    .orderBy('started_at', 'desc')
    .execute();
  const seen = new Set<string>();
  const out: { name: string; holder: string; since: number; beatAt: number }[] = [];
  for (const r of rows) {
    if (seen.has(r.name)) continue;
    seen.add(r.name);
    out.push({ name: r.name, holder: r.holder, since: Number(r.started_at), beatAt: Number(r.beat_at) });
  }
  return out;
}

export interface Tenure {
  name: string;
  holder: string;
  started_at: number;
  beat_at: number;
  ended_at: number | null;
}

/** Leadership tenures, newest first (of one leadership when named). */
export async function leaderTenures(store: Store, filter: { name?: string | undefined; limit: number }): Promise<Tenure[]> {
  let q = store.db.selectFrom('leader_tenures').selectAll().orderBy('started_at', 'desc').orderBy('id', 'desc').limit(filter.limit);
  if (filter.name) q = q.where('name', '=', filter.name);
  const rows = await q.execute();
  return rows.map((r) => ({ name: r.name, holder: r.holder, started_at: Number(r.started_at), beat_at: Number(r.beat_at), ended_at: r.ended_at === null ? null : Number(r.ended_at) }));
}
