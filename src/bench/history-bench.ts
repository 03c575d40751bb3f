/**
 * `keel bench history`: a year of paging history for a team, then the time of the reads people
 * make on it (incident and alert lists: first page, a deep page, filters; MTTA/MTTR metrics), each
 * beside the ceiling measured in the same run: GET /v1/tenants/<team>, an authenticated read of one
 * row through the same HTTP, authentication and JSON path (the least any of these calls costs).
 *
 * Flat time is shown twice in one run: a deep page against the first page of the large history,
 * and every call on the large history (team `history`) against the same call on a tenth of it
 * (team `history-small`, in the same tables).
 *
 * Embedded (SQLite): Keel is started once on a scratch data dir to create the schema and the teams,
 * stopped, the rows inserted, and started again. Distributed (`--mode distributed`): an api/evaluator
 * process on NATS and PostgreSQL in a schema of its own, the rows inserted into that schema while it
 * runs; the schema and the stream are dropped afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { dropCluster, startCluster, type ClusterOptions } from './distributed-bench.js';
import { loadPostgres, loadSqlite } from './history-load.js';
import { DAY, historyTables, SERVICES, type HistoryTable } from './history-rows.js';
import { spawnKeel } from './spawn-keel.js';

export interface HistoryBenchOptions {
  alerts: number;
  incidents: number;
  /** Timed calls per measurement (the median is reported). */
  calls: number;
  /** Run against a distributed Keel on NATS and PostgreSQL instead of an embedded one. */
  distributed?: { natsUrl: string; postgresUrl: string };
  log: (line: string) => void;
}

export interface HistoryCall {
  path: string;
  /** The page reached, for pages followed by cursor (1 = the first). */
  page: number;
  median_ms: number;
  max_ms: number;
  /** Rows answered: list entries, or the incidents a metrics answer counted. */
  rows: number;
}

export interface HistoryTiming extends HistoryCall {
  name: string;
  /** median over the ceiling's median (1 = as fast as an empty round trip). */
  vs_ceiling: number;
  /** The same call on the small history (a tenth of the rows). */
  small: HistoryCall;
  /** median on the large history over median on the small one (1 = flat in the history's size). */
  large_vs_small: number;
}

export interface HistoryBenchResult {
  mode: 'embedded' | 'distributed';
  team: string;
  alerts: number;
  incidents: number;
  small: { team: string; alerts: number; incidents: number };
  build_s: number;
  ceiling_ms: number;
  timings: HistoryTiming[];
  /** Deep page over first page on the large history (1 = flat in depth). */
  deep_vs_first: { incidents: number; alerts: number };
  load_average_1m: number;
}

const TEAM = 'history';
const SMALL_TEAM = 'history-small';

interface HistoryTarget {
  url: string;
  adminKey: string;
  buildS: number;
  stop(): Promise<void>;
}

async function createTeams(url: string, adminKey: string, teams: string[]): Promise<void> {
  const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  for (const id of teams) {
    const res = await request(`${url}/v1/tenants`, { method: 'POST', headers, body: JSON.stringify({ id }) });
    const text = await res.body.text();
    if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`POST /v1/tenants ${id}: ${res.statusCode} ${text}`);
  }
}

async function embeddedTarget(tables: HistoryTable[], log: (line: string) => void): Promise<HistoryTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-history-'));
  try {
    const first = await spawnKeel({ dataDir: dir });
    await createTeams(first.url, first.adminKey, [TEAM, SMALL_TEAM]).finally(() => first.stop('SIGTERM'));
    log(`inserting the history into ${dir}/state.db…`);
    const t0 = performance.now();
    loadSqlite(join(dir, 'state.db'), tables);
    const buildS = (performance.now() - t0) / 1000;
    const keel = await spawnKeel({ dataDir: dir, adminKey: first.adminKey });
    return {
      url: keel.url,
      adminKey: keel.adminKey,
      buildS,
      stop: async () => {
        await keel.stop('SIGTERM');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function distributedTarget(d: { natsUrl: string; postgresUrl: string }, tables: HistoryTable[], log: (line: string) => void): Promise<HistoryTarget> {
  const o: ClusterOptions = { natsUrl: d.natsUrl, postgresUrl: d.postgresUrl, partitions: 1 };
  const cluster = await startCluster(o, 0, 0);
  try {
    await createTeams(cluster.coordinator.url, cluster.adminKey, [TEAM, SMALL_TEAM]);
    log(`inserting the history into PostgreSQL schema ${cluster.schema}…`);
    const t0 = performance.now();
    await loadPostgres(d.postgresUrl, cluster.schema, tables);
    return { url: cluster.coordinator.url, adminKey: cluster.adminKey, buildS: (performance.now() - t0) / 1000, stop: () => dropCluster(o, cluster) };
  } catch (e) {
    await dropCluster(o, cluster);
    throw e;
  }
}

export async function benchHistory(o: HistoryBenchOptions): Promise<HistoryBenchResult> {
  const now = Date.now();
  const small = { team: SMALL_TEAM, alerts: Math.floor(o.alerts / 10), incidents: Math.floor(o.incidents / 10) };
  const n = (v: number) => v.toLocaleString('en-US');
  o.log(
    `history over a year: team ${TEAM} ${n(o.incidents)} incidents and ${n(o.alerts)} alerts, team ${SMALL_TEAM} ${n(small.incidents)} and ${n(small.alerts)} (${o.distributed ? 'distributed, PostgreSQL' : 'embedded, SQLite'})`,
  );
  const tables = [...historyTables(TEAM, now, o.incidents, o.alerts), ...historyTables(SMALL_TEAM, now, small.incidents, small.alerts)];
  const target = o.distributed ? await distributedTarget(o.distributed, tables, o.log) : await embeddedTarget(tables, o.log);
  try {
    const calls = historyCalls(target.url, target.adminKey, o.calls);
    const ceiling = await calls.time(TEAM, `/v1/tenants/${TEAM}`);
    o.log(`ceiling: GET /v1/tenants/${TEAM} ${ceiling.median.toFixed(2)} ms (median of ${o.calls})`);
    const timings: HistoryTiming[] = [];
    const measure = async (name: string, query: (team: string, size: { incidents: number; alerts: number }) => Promise<{ path: string; page: number }>, key: string) => {
      const one = async (team: string, size: { incidents: number; alerts: number }): Promise<HistoryCall> => {
        const { path, page } = await query(team, size);
        const t = await calls.time(team, path);
        const list = t.body[key];
        const overall = t.body.overall as { incidents?: number } | undefined;
        const rows = Array.isArray(list) ? list.length : (overall?.incidents ?? 0);
        return { path, page, median_ms: round(t.median), max_ms: round(t.max), rows };
      };
      const large = await one(TEAM, o);
      const s = await one(SMALL_TEAM, small);
      timings.push({ name, ...large, vs_ceiling: round(large.median_ms / ceiling.median), small: s, large_vs_small: round(large.median_ms / s.median_ms) });
      o.log(`  ${name.padEnd(34)} ${large.median_ms.toFixed(2).padStart(8)} ms (${large.rows} rows)   small history ${s.median_ms.toFixed(2).padStart(8)} ms (${s.rows} rows)`);
    };
    const first = (path: string) => () => Promise.resolve({ path, page: 1 });
    const deep = (path: string, pages: (size: { incidents: number; alerts: number }) => number) => async (team: string, size: { incidents: number; alerts: number }) => {
      const p = Math.max(0, pages(size));
      return { path: await calls.follow(team, path, p), page: p + 1 };
    };
    const year = `from=${now - 365 * DAY}`;
    const incidents = '/v1/incidents?state=all&limit=50';
    const serviceResolved = '/v1/incidents?state=resolved,closed&service=svc-3&limit=50';
    const alerts = '/v1/paging/alerts?limit=50';
    await measure('incidents: first page', first(incidents), 'incidents');
    await measure(
      'incidents: deep page',
      deep(incidents, (s) => Math.min(100, Math.floor(s.incidents / 50) - 1)),
      'incidents',
    );
    await measure('incidents: open ones', first('/v1/incidents?limit=50'), 'incidents');
    await measure('incidents: one service, resolved', first(serviceResolved), 'incidents');
    await measure(
      'incidents: one service, deep page',
      deep(serviceResolved, (s) => Math.min(9, Math.floor(s.incidents / SERVICES / 50) - 1)),
      'incidents',
    );
    await measure('alerts: first page', first(alerts), 'alerts');
    await measure(
      'alerts: deep page',
      deep(alerts, (s) => Math.min(1000, Math.floor(s.alerts / 50) - 1)),
      'alerts',
    );
    await measure('alerts: firing ones', first('/v1/paging/alerts?status=firing&limit=50'), 'alerts');
    await measure('metrics: last 30 days', first('/v1/incidents/metrics'), 'overall');
    await measure('metrics: the year', first(`/v1/incidents/metrics?${year}`), 'overall');
    await measure('metrics: the year, one service', first(`/v1/incidents/metrics?${year}&service=svc-3`), 'overall');
    const ratio = (deepName: string, firstName: string) => round(timings.find((t) => t.name === deepName)!.median_ms / timings.find((t) => t.name === firstName)!.median_ms);
    return {
      mode: o.distributed ? 'distributed' : 'embedded',
      team: TEAM,
      alerts: o.alerts,
      incidents: o.incidents,
      small,
      build_s: round(target.buildS, 1),
      ceiling_ms: round(ceiling.median),
      timings,
      deep_vs_first: { incidents: ratio('incidents: deep page', 'incidents: first page'), alerts: ratio('alerts: deep page', 'alerts: first page') },
      load_average_1m: round(loadavg()[0]!, 1),
    };
  } finally {
    await target.stop();
  }
}

/** Timed GETs as a team's admin: the median of `calls` after one warm-up call, and cursor following. */
function historyCalls(url: string, adminKey: string, calls: number) {
  const get = async (team: string, path: string): Promise<{ ms: number; body: Record<string, unknown> }> => {
    const s = performance.now();
    const r = await request(`${url}${path}`, { headers: { authorization: `Bearer ${adminKey}`, 'x-keel-team': team } });
    const text = await r.body.text();
    const ms = performance.now() - s;
    if (r.statusCode !== 200) throw new Error(`GET ${path} (team ${team}) answered ${r.statusCode}: ${text}`);
    return { ms, body: JSON.parse(text) as Record<string, unknown> };
  };
  return {
    async time(team: string, path: string) {
      await get(team, path); // warm: statement caches, page cache
      const ms: number[] = [];
      let body: Record<string, unknown> = {};
      for (let i = 0; i < calls; i++) {
        const r = await get(team, path);
        ms.push(r.ms);
        body = r.body;
      }
      ms.sort((a, b) => a - b);
      return { median: ms[Math.floor(ms.length / 2)]!, max: ms[ms.length - 1]!, body };
    },
    /** Follows next_cursor `pages` times and returns the path of the page reached. */
    async follow(team: string, path: string, pages: number): Promise<string> {
      let cursor: string | null = null;
      for (let i = 0; i < pages; i++) {
        const r: { body: Record<string, unknown> } = await get(team, cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path);
        cursor = (r.body.next_cursor as string | null) ?? null;
        if (!cursor) throw new Error(`${path}: no next_cursor after ${i + 1} pages`);
      }
      return cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path;
    },
  };
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
