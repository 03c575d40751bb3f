/**
 * `keel bench history`: a year of paging history for one team, then the time of the reads people
 * make on it (incident and alert lists: first page, a deep page, a filter; MTTA/MTTR metrics),
 * each beside the ceiling measured in the same run: GET /v1/tenants/<team>, an authenticated read of
 * one row through the same HTTP, authentication and JSON path (the least any of these calls costs).
 *
 * The history is written straight into the owning tables of a scratch data dir (Keel started once
 * to create the schema and the team, stopped, rows inserted in one SQLite transaction, started
 * again): going through the domain's functions would take hours for 110,000 rows on this machine
 * and would measure the write path, which `keel bench paging` already does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { request } from 'undici';
import { spawnKeel } from './spawn-keel.js';

export interface HistoryBenchOptions {
  alerts: number;
  incidents: number;
  /** Timed calls per measurement (the median is reported). */
  calls: number;
  log: (line: string) => void;
}

export interface HistoryTiming {
  name: string;
  path: string;
  median_ms: number;
  max_ms: number;
  /** median over the ceiling's median (1 = as fast as an empty round trip). */
  vs_ceiling: number;
  rows: number;
}

export interface HistoryBenchResult {
  team: string;
  alerts: number;
  incidents: number;
  build_s: number;
  ceiling_ms: number;
  timings: HistoryTiming[];
  load_average_1m: number;
}

const TEAM = 'history';
const DAY = 86_400_000;
const SERVICES = 20;

export async function benchHistory(o: HistoryBenchOptions): Promise<HistoryBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-history-'));
  try {
    let keel = await spawnKeel({ dataDir: dir });
    const admin = { authorization: `Bearer ${keel.adminKey}`, 'content-type': 'application/json' };
    const res = await request(`${keel.url}/v1/tenants`, { method: 'POST', headers: admin, body: JSON.stringify({ id: TEAM }) });
    await res.body.text();
    await keel.stop('SIGTERM');
    const t0 = performance.now();
    const now = Date.now();
    o.log(`inserting ${o.incidents.toLocaleString('en-US')} incidents and ${o.alerts.toLocaleString('en-US')} alerts over a year into ${dir}/state.db…`);
    buildHistory(join(dir, 'state.db'), now, o.incidents, o.alerts);
    const buildS = (performance.now() - t0) / 1000;
    keel = await spawnKeel({ dataDir: dir, adminKey: keel.adminKey });
    try {
      const headers = { authorization: `Bearer ${keel.adminKey}`, 'x-keel-team': TEAM };
      const get = async (path: string): Promise<{ ms: number; body: Record<string, unknown> }> => {
        const s = performance.now();
        const r = await request(`${keel.url}${path}`, { headers });
        const text = await r.body.text();
        const ms = performance.now() - s;
        if (r.statusCode !== 200) throw new Error(`GET ${path} answered ${r.statusCode}: ${text}`);
        return { ms, body: JSON.parse(text) as Record<string, unknown> };
      };
      const time = async (path: string) => {
        await get(path); // warm: statement caches, page cache
        const ms: number[] = [];
        let body: Record<string, unknown> = {};
        for (let i = 0; i < o.calls; i++) {
          const r = await get(path);
          ms.push(r.ms);
          body = r.body;
        }
        ms.sort((a, b) => a - b);
        return { median: ms[Math.floor(ms.length / 2)]!, max: ms[ms.length - 1]!, body };
      };
      /** Follows next_cursor `pages` times and returns the path of the page reached. */
      const deep = async (path: string, pages: number): Promise<string> => {
        if (pages <= 0) return path;
        let cursor: string | null = null;
        for (let i = 0; i < pages; i++) {
          const r: { body: Record<string, unknown> } = await get(cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path);
          cursor = (r.body.next_cursor as string | null) ?? null;
          if (!cursor) throw new Error(`${path}: no next_cursor after ${i + 1} pages`);
        }
        return `${path}&cursor=${encodeURIComponent(cursor!)}`;
      };
      const ceiling = await time(`/v1/tenants/${TEAM}`);
      o.log(`ceiling: GET /v1/tenants/${TEAM} ${ceiling.median.toFixed(2)} ms (median of ${o.calls})`);
      const timings: HistoryTiming[] = [];
      const measure = async (name: string, path: string, key: string) => {
        const t = await time(path);
        const rows = Array.isArray(t.body[key]) ? (t.body[key] as unknown[]).length : 1;
        timings.push({ name, path, median_ms: round(t.median), max_ms: round(t.max), vs_ceiling: round(t.median / ceiling.median), rows });
        o.log(`  ${name.padEnd(34)} ${t.median.toFixed(2).padStart(8)} ms  (${rows} rows)`);
      };
      const incidentsPages = Math.min(100, Math.floor(o.incidents / 50) - 1);
      const alertPages = Math.min(1000, Math.floor(o.alerts / 50) - 1);
      await measure('incidents: first page', '/v1/incidents?state=all&limit=50', 'incidents');
      await measure(`incidents: page ${incidentsPages + 1}`, await deep('/v1/incidents?state=all&limit=50', incidentsPages), 'incidents');
      await measure('incidents: open ones', '/v1/incidents?limit=50', 'incidents');
      await measure('incidents: one service, resolved', '/v1/incidents?state=resolved,closed&service=svc-3&limit=50', 'incidents');
      await measure(
        'incidents: one service, deep page',
        await deep('/v1/incidents?state=resolved,closed&service=svc-3&limit=50', Math.min(9, Math.floor(o.incidents / SERVICES / 50) - 1)),
        'incidents',
      );
      await measure('alerts: first page', '/v1/paging/alerts?limit=50', 'alerts');
      await measure(`alerts: page ${alertPages + 1}`, await deep('/v1/paging/alerts?limit=50', alertPages), 'alerts');
      await measure('alerts: firing ones', '/v1/paging/alerts?status=firing&limit=50', 'alerts');
      await measure('metrics: last 30 days', '/v1/incidents/metrics', 'severity');
      await measure('metrics: the year', `/v1/incidents/metrics?from=${now - 365 * DAY}`, 'severity');
      await measure('metrics: the year, one service', `/v1/incidents/metrics?from=${now - 365 * DAY}&service=svc-3`, 'severity');
      return {
        team: TEAM,
        alerts: o.alerts,
        incidents: o.incidents,
        build_s: round(buildS, 1),
        ceiling_ms: round(ceiling.median),
        timings,
        load_average_1m: round((await import('node:os')).loadavg()[0]!, 1),
      };
    } finally {
      await keel.stop('SIGTERM');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The history: incidents spread evenly over the last 365 days on 20 services, acknowledged 1-15
 * minutes and resolved 20-200 minutes after opening (the newest 20 still open), each with one
 * page to one of 10 people; alerts spread over the same year, each routed to its incident.
 */
export function buildHistory(path: string, now: number, incidents: number, alerts: number): void {
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  const severities = ['critical', 'high', 'medium', 'low'];
  let seed = 42;
  const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const insIncident = db.prepare(
    `INSERT INTO incidents (id, tenant_id, number, title, summary, service, severity, state, grouping_key, escalation_policy, opened_at, acknowledged_at, mitigated_at, resolved_at, closed_at, created_by)
     VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, NULL, ?, ?, NULL, ?, ?, 'bench')`,
  );
  const insJob = db.prepare(
    `INSERT INTO notification_jobs (id, tenant_id, incident_id, user_id, target_name, channel, target_json, message_json, status, attempts, next_attempt_at, created_at, updated_at, sent_at, pass, step, kind)
     VALUES (?, ?, ?, ?, 'bench', 'webhook', '{}', '{}', 'sent', 1, ?, ?, ?, ?, 0, 0, 'page')`,
  );
  const insAlert = db.prepare(
    `INSERT INTO alerts (id, tenant_id, dedup_key, source, service, status, severity, summary, labels_json, details_json, links_json, first_seen, last_seen, count, resolved_at, acknowledged_at)
     VALUES (?, ?, ?, 'events-v2', ?, ?, ?, ?, ?, '{}', '[]', ?, ?, 1, ?, NULL)`,
  );
  const insPaging = db.prepare(`INSERT INTO paging_alerts (alert_id, tenant_id, service, route, incident_id, suppressed_by, grouping_key, processed_at) VALUES (?, ?, ?, 'default', ?, NULL, ?, ?)`);
  const span = 365 * DAY;
  db.transaction(() => {
    for (let i = 0; i < incidents; i++) {
      const opened = now - span + Math.floor((i / incidents) * span);
      const open = i >= incidents - 20;
      const ack = open ? null : opened + 60_000 + Math.floor(rand() * 14 * 60_000);
      const resolved = open ? null : opened + 20 * 60_000 + Math.floor(rand() * 180 * 60_000);
      const service = `svc-${i % SERVICES}`;
      const id = `inc_hist${String(i).padStart(7, '0')}`;
      const state = open ? 'triggered' : i % 3 === 0 ? 'closed' : 'resolved';
      insIncident.run(id, TEAM, i + 1, `${service} is failing`, service, severities[i % 4], state, `g${i}`, opened, ack, resolved, state === 'closed' ? resolved : null);
      insJob.run(`job_hist${String(i).padStart(7, '0')}`, TEAM, id, `usr_bench${i % 10}`, opened, opened, opened, opened);
    }
    db.prepare(`INSERT INTO incident_counters (tenant_id, last) VALUES (?, ?) ON CONFLICT (tenant_id) DO UPDATE SET last = excluded.last`).run(TEAM, incidents);
    for (let a = 0; a < alerts; a++) {
      const seen = now - span + Math.floor((a / alerts) * span);
      const firing = a >= alerts - 50;
      const i = Math.min(incidents - 1, Math.floor((a / alerts) * incidents));
      const service = `svc-${i % SERVICES}`;
      const id = `alt_hist${String(a).padStart(8, '0')}`;
      insAlert.run(
        id,
        TEAM,
        `dedup-${a}`,
        service,
        firing ? 'firing' : 'resolved',
        severities[a % 4],
        `${service} check ${a % 7} failed`,
        JSON.stringify({ service, check: String(a % 7) }),
        seen,
        seen,
        firing ? null : seen + 600_000,
      );
      insPaging.run(id, TEAM, service, `inc_hist${String(i).padStart(7, '0')}`, `g${i}`, seen);
    }
  })();
  db.close();
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
