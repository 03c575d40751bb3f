#!/usr/bin/env node
/**
 * What the SLO counters cost on disk, per SLO per day of traffic, and what a 30-day window at
 * 10,000 SLOs takes under the retention rules of src/slo/retention.ts (npm run build first):
 *   1. a Keel on a fresh data dir (embedded: SQLite; or `--nats`/`--postgres`: the api/evaluator,
 *      ingest and worker roles of `keel bench ingest --mode distributed`) gets N fleet SLOs
 *      (the shape of `keel bench slo --shape fleet`: n/10 services, ten SLOs each, one of them
 *      broken down by region and route);
 *   2. fleet events spread over the past `--hours` of event time, a batch every 5 s, are sent and
 *      counted (the aggregator writes every event at 10 s, 1 min, 1 h and 1 day resolution);
 *   3. the counter tables are measured (SQLite: dbstat pages of the tables and their indexes;
 *      PostgreSQL: pg_total_relation_size) and divided into bytes per counter row, per series and
 *      per SLO per day, then projected to a dense 30-day window at 10,000 SLOs (every series has
 *      events in every 10 s bucket: 8,640 + 1,440 + 24 + 1 rows a day, 10 s rows kept for the
 *      longest alert window + 2 days, the others for the SLO window + 3 days, each cutoff floored
 *      to a day by the pruning, so the worst case is a day more).
 *
 *   node scripts/bench-slo-storage.mjs [--slos 100] [--hours 6] [--batch 500] [--json]
 *   node scripts/bench-slo-storage.mjs --nats nats://127.0.0.1:4222 --postgres postgres://postgres@127.0.0.1:5432/test
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { fleetBodies } from '../dist/bench/events.js';
import { fleetSloDocuments } from '../dist/bench/slo-bench-slos.js';
import { keelCall, spawnKeel } from '../dist/bench/spawn-keel.js';
import { dropCluster, startCluster } from '../dist/bench/distributed-bench.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SLOS = Number(opt('slos', '100'));
const HOURS = Number(opt('hours', '6'));
const BATCH = Number(opt('batch', '500'));
const NATS = opt('nats', undefined);
const POSTGRES = opt('postgres', undefined);
const json = args.includes('--json');
const log = (s) => process.stderr.write(`${s}\n`);
if (!(SLOS >= 10 && SLOS <= 10_000 && SLOS % 10 === 0)) throw new Error('--slos must be a multiple of 10 from 10 to 10000');
if (Boolean(NATS) !== Boolean(POSTGRES)) throw new Error('the distributed mode needs both --nats and --postgres');

const DAY = 86_400_000;
const STEP_MS = 5_000;
const COUNTER_TABLES = ['slo_counts', 'slo_series', 'slo_slices', 'slo_slice_rollups'];
// The fleet's SLOs have 30-day windows and the default policy (longest alert window 3 days); pruning
// (src/slo/maintenance.ts) floors its cutoffs to a day, so at worst one more day is kept.
const FINE_KEEP_DAYS = 3 + 2 + 1;
const COARSE_KEEP_DAYS = 30 + 3 + 1;
const DENSE_ROWS_PER_DAY = { 10: 8640, 60: 1440, 3600: 24, 86400: 1 };

/** The target Keel: where calls go, how counted events and table sizes are read. */
async function embedded() {
  const keel = await spawnKeel({ readyTimeoutMs: 60_000, keepDataDir: true });
  const path = join(keel.dataDir, 'state.db');
  const reader = () => new Database(path, { readonly: true, fileMustExist: true });
  return {
    mode: 'embedded (SQLite)',
    adminUrl: keel.url,
    ingestUrl: keel.url,
    adminKey: keel.adminKey,
    counted(seriesSql) {
      const db = reader();
      try {
        return Number(db.prepare(seriesSql).get().n);
      } finally {
        db.close();
      }
    },
    async measure() {
      await keel.stop();
      const db = new Database(path);
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
        const rows = db.prepare('SELECT res, COUNT(*) AS n, COUNT(DISTINCT series_id) AS series FROM slo_counts GROUP BY res ORDER BY res').all();
        const series = Number(db.prepare('SELECT COUNT(*) AS n FROM slo_series').get().n);
        // Every b-tree of the counter tables: the tables and their primary-key and unique indexes.
        const objects = db
          .prepare(`SELECT name FROM sqlite_schema WHERE tbl_name IN (${COUNTER_TABLES.map(() => '?').join(',')})`)
          .all(...COUNTER_TABLES)
          .map((r) => r.name);
        const sizes = db.prepare(`SELECT name, SUM(pgsize) AS bytes, SUM(payload) AS payload FROM dbstat WHERE name IN (${objects.map(() => '?').join(',')}) GROUP BY name`).all(...objects);
        const countsBytes = sizes.filter((s) => s.name === 'slo_counts' || s.name.startsWith('sqlite_autoindex_slo_counts')).reduce((a, s) => a + s.bytes, 0);
        return { rows, series, sizes: Object.fromEntries(sizes.map((s) => [s.name, s.bytes])), countsBytes, totalBytes: sizes.reduce((a, s) => a + s.bytes, 0) };
      } finally {
        db.close();
      }
    },
    stop: async () => {
      await keel.stop();
      rmSync(keel.dataDir, { recursive: true, force: true });
    },
  };
}

async function distributed() {
  const o = { natsUrl: NATS, postgresUrl: POSTGRES, partitions: 2 };
  const cluster = await startCluster(o, 1, 1);
  const client = new pg.Client({ connectionString: POSTGRES, options: `-c search_path="${cluster.schema}"` });
  await client.connect();
  return {
    mode: 'distributed (PostgreSQL)',
    adminUrl: cluster.coordinator.url,
    ingestUrl: cluster.ingest[0].url,
    adminKey: cluster.adminKey,
    async counted(seriesSql) {
      return Number((await client.query(seriesSql)).rows[0].n);
    },
    async measure() {
      await client.query('VACUUM ANALYZE slo_counts');
      const rows = (await client.query('SELECT res, COUNT(*)::int AS n, COUNT(DISTINCT series_id)::int AS series FROM slo_counts GROUP BY res ORDER BY res')).rows;
      const series = Number((await client.query('SELECT COUNT(*) AS n FROM slo_series')).rows[0].n);
      const sizes = {};
      for (const t of COUNTER_TABLES) sizes[t] = Number((await client.query('SELECT pg_total_relation_size($1::regclass) AS n', [t])).rows[0].n);
      // Upserts leave dead row versions (reused after VACUUM, so a steady state keeps some): the
      // size as written above, and rewritten without them (VACUUM FULL) as the floor.
      await client.query('VACUUM FULL slo_counts');
      const compactCountsBytes = Number((await client.query("SELECT pg_total_relation_size('slo_counts') AS n")).rows[0].n);
      return { rows, series, sizes, countsBytes: sizes.slo_counts, compactCountsBytes, totalBytes: Object.values(sizes).reduce((a, b) => a + b, 0) };
    },
    stop: async () => {
      await client.end();
      await dropCluster(o, cluster);
    },
  };
}

const target = NATS ? await distributed() : await embedded();
let out;
try {
  const call = keelCall(target.adminUrl);
  const send = keelCall(target.ingestUrl);
  await call('POST', '/v1/tenants', target.adminKey, JSON.stringify({ id: 'fleet', eventsPerSecond: 1e9, burst: 1e9 }));
  const admin = (await call('POST', '/v1/keys', target.adminKey, JSON.stringify({ tenant: 'fleet', scopes: ['admin'], name: 'bench-admin' }))).key;
  const ingest = (await call('POST', '/v1/keys', target.adminKey, JSON.stringify({ tenant: 'fleet', scopes: ['ingest'], name: 'bench-ingest' }))).key;
  const docs = fleetSloDocuments(SLOS).split('---\n');
  await call('POST', '/v1/definitions/apply', admin, JSON.stringify({ sources: [{ file: 'services.yaml', content: docs.filter((d) => d.includes('kind: Service')).join('---\n') }] }));
  const slos = docs.filter((d) => d.includes('kind: SLO'));
  for (let i = 0; i < slos.length; i += 1000) {
    await call('POST', '/v1/definitions/apply', admin, JSON.stringify({ sources: [{ file: `slos-${i}.yaml`, content: slos.slice(i, i + 1000).join('---\n') }] }));
  }
  for (;;) {
    const b = (await call('GET', '/v1/slo-backfills', admin)).backfills;
    if (b.every((x) => x.state === 'done')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`${target.mode}: ${SLOS} fleet SLOs applied; sending ${HOURS} h of event time, ${BATCH} events every ${STEP_MS / 1000} s…`);

  // Events of the past HOURS, oldest first, one batch per 5 s of event time.
  const now = Date.now();
  const services = SLOS / 10;
  let events = 0;
  let svc0 = 0;
  const started = Date.now();
  for (let t = now - HOURS * 3_600_000 + STEP_MS; t <= now; t += STEP_MS) {
    const [body] = fleetBodies(services, 1, BATCH, t, t % 2_147_483_647);
    svc0 += body
      .toString()
      .split('\n')
      .filter((l) => l.includes('"service":"svc-0000"')).length;
    await send('POST', '/v1/events', ingest, body.toString(), 'application/x-ndjson');
    events += BATCH;
  }
  log(`  ${events.toLocaleString('en-US')} events acknowledged in ${Date.now() - started} ms; waiting until they are counted…`);
  // fleet-0 counts every event of svc-0000 (overall series, day buckets).
  const countedSql = `SELECT COALESCE(SUM(c.total), 0) AS n FROM slo_counts c JOIN slo_series s ON s.id = c.series_id JOIN slo_generations g ON g.uid = s.gen_uid
    WHERE g.slo_name = 'fleet-0' AND g.current = 1 AND s.breakdown = '' AND c.res = 86400`;
  const deadline = Date.now() + 600_000;
  for (;;) {
    const n = await target.counted(countedSql);
    if (n >= svc0) break;
    if (Date.now() > deadline) throw new Error(`only ${n} of ${svc0} events of svc-0000 counted after 10 min`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // The other SLOs' series are written in the same transactions as fleet-0's; give the last flush a moment.
  await new Promise((r) => setTimeout(r, 3000));
  const m = await target.measure();
  const rows = m.rows.reduce((a, r) => a + Number(r.n), 0);
  const days = HOURS / 24;
  const bytesPerRow = m.countsBytes / rows;
  const seriesPerSlo = m.series / SLOS;
  const denseRowsPerSeriesDay = Object.values(DENSE_ROWS_PER_DAY).reduce((a, b) => a + b, 0);
  const keptRowsPerSeries = DENSE_ROWS_PER_DAY[10] * FINE_KEEP_DAYS + (DENSE_ROWS_PER_DAY[60] + DENSE_ROWS_PER_DAY[3600] + DENSE_ROWS_PER_DAY[86400]) * COARSE_KEEP_DAYS;
  out = {
    mode: target.mode,
    slos: SLOS,
    hours_of_event_time: HOURS,
    events,
    series: m.series,
    series_per_slo: Math.round(seriesPerSlo * 100) / 100,
    rows_by_resolution: Object.fromEntries(m.rows.map((r) => [`${r.res}s`, { rows: Number(r.n), series: Number(r.series) }])),
    table_bytes: m.sizes,
    counter_bytes: m.totalBytes,
    bytes_per_counter_row: Math.round(bytesPerRow * 10) / 10,
    ...(m.compactCountsBytes !== undefined ? { compact_bytes_per_counter_row: Math.round((m.compactCountsBytes / rows) * 10) / 10 } : {}),
    measured_bytes_per_slo_per_day: Math.round(m.totalBytes / SLOS / days),
    dense_rows_per_series_per_day: denseRowsPerSeriesDay,
    dense_bytes_per_slo_per_day: Math.round(denseRowsPerSeriesDay * bytesPerRow * seriesPerSlo),
    kept_rows_per_series: keptRowsPerSeries,
    window_30d_bytes_per_slo: Math.round(keptRowsPerSeries * bytesPerRow * seriesPerSlo),
    window_30d_bytes_at_10000_slos: Math.round(keptRowsPerSeries * bytesPerRow * seriesPerSlo * 10_000),
  };
} finally {
  await target.stop().catch(() => undefined);
}

if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
else {
  const n = (v) => Math.round(v).toLocaleString('en-US');
  const gb = (v) => `${(v / 1e9).toFixed(1)} GB`;
  process.stdout.write(
    [
      `SLO counter storage, ${out.mode}: ${out.slos} fleet SLOs (${out.series} series, ${out.series_per_slo} per SLO), ${n(out.events)} events over ${out.hours_of_event_time} h of event time`,
      `rows by resolution:            ${Object.entries(out.rows_by_resolution)
        .map(([k, v]) => `${k} ${n(v.rows)}`)
        .join(', ')}`,
      `bytes (tables + indexes):      ${Object.entries(out.table_bytes)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ')}`,
      `per counter row:               ${out.bytes_per_counter_row} bytes${out.compact_bytes_per_counter_row !== undefined ? ` (${out.compact_bytes_per_counter_row} after VACUUM FULL)` : ''}`,
      `per SLO per day (this traffic): ${n(out.measured_bytes_per_slo_per_day)} bytes`,
      `per SLO per day (dense: every series in every 10 s bucket, ${n(out.dense_rows_per_series_per_day)} rows): ${n(out.dense_bytes_per_slo_per_day)} bytes`,
      `30-day window, dense, kept rows per series ${n(out.kept_rows_per_series)}: ${n(out.window_30d_bytes_per_slo)} bytes per SLO, ${gb(out.window_30d_bytes_at_10000_slos)} at 10,000 SLOs`,
      '',
    ].join('\n'),
  );
}
