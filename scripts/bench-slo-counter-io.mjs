#!/usr/bin/env node
/**
 * The SLO counter table's reads and writes at a full retention, on SQLite (npm run build first):
 *   1. a fresh store gets `--series` series of dense counters as src/slo/retention.ts keeps them at
 *      the default policy and a 30-day window (10 s rows for 6 days, minute, hour and day rows for
 *      34 days: 101,650 rows per series);
 *   2. the evaluator's read (`sumWindows`: the series over the default policy's windows and the
 *      30-day window) and a chart's read (200 windows) are timed, with the rows they need beside
 *      the rows the series hold;
 *   3. the counter writer's statement (the additive upsert, 1,000 rows per statement) is timed:
 *      transactions of a new 10 s row per series and 10 s, each added to its minute, hour and day
 *      rows, as the writer does.
 * `--root DIR` runs another checkout's build (its dist/ and node_modules) on the same data: the
 * before/after comparison of BENCHMARKS.md ("Counter storage per SLO per day").
 *
 *   node scripts/bench-slo-counter-io.mjs [--series 20] [--root .]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const root = resolve(opt('root', join(import.meta.dirname, '..')));
const S = Number(opt('series', '20'));
const require = createRequire(join(root, 'package.json'));
const Database = require('better-sqlite3');
const { sql } = require('kysely');
const { openSqliteStore } = await import(join(root, 'dist/store/store.js'));
const { sumWindows } = await import(join(root, 'dist/slo/counter-reader.js'));
const { decompose } = await import(join(root, 'dist/slo/windows.js'));

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'keel-counter-io-'));
const file = join(dir, 'state.db');
const now = Math.floor(Date.parse('2026-08-10T13:37:20Z') / 10_000) * 10_000;
const day0 = Math.floor(now / DAY) * DAY;
try {
  await (await openSqliteStore(file)).close();
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  const fill = (res, n, from) =>
    raw.exec(`with recursive s(id) as (select 1 union all select id + 1 from s where id < ${S}), n(i) as (select 0 union all select i + 1 from n where i < ${n - 1})
      insert into slo_counts (series_id, res, bucket, good, total) select id, ${res}, ${from} + i * ${res * 1000}, 1, 2 from s, n order by id, i`);
  fill(10, 8640 * 6, day0 - 5 * DAY);
  fill(60, 1440 * 34, day0 - 33 * DAY);
  fill(3600, 24 * 34, day0 - 33 * DAY);
  fill(86400, 34, day0 - 33 * DAY);
  const held = raw.prepare('select count(*) as n from slo_counts').get().n;
  raw.pragma('wal_checkpoint(TRUNCATE)');
  raw.close();

  const store = await openSqliteStore(file);
  const ids = Array.from({ length: S }, (_, i) => i + 1);
  const policy = [5 * 60e3, 30 * 60e3, 3600e3, 6 * 3600e3, DAY, 3 * DAY, 30 * DAY].map((ms) => ({ from: now - ms, to: now }));
  const chart = Array.from({ length: 200 }, (_, i) => ({ from: now - 31 * DAY + i * 3 * 3600e3, to: now - 30 * DAY + i * 3 * 3600e3 }));
  const needed = (windows) => {
    const keys = new Set();
    for (const w of windows) for (const r of decompose(w.from, w.to)) for (let b = r.from; b < r.to; b += r.res) keys.add(`${r.res}:${b}`);
    return keys.size;
  };
  const time = async (fn, n) => {
    await fn();
    const t = [];
    for (let i = 0; i < n; i++) {
      const a = process.hrtime.bigint();
      await fn();
      t.push(Number(process.hrtime.bigint() - a) / 1e6);
    }
    return t.sort((a, b) => a - b)[n >> 1];
  };
  const out = [];
  out.push(`SLO counters on SQLite (${root}): ${S} series, ${held.toLocaleString('en-US')} rows (${(held / S).toLocaleString('en-US')} per series: a full retention)`);
  const evalMs = await time(() => sumWindows(store.db, ids, policy), 15);
  out.push(`evaluator read, ${S} series x 7 windows: median ${evalMs.toFixed(2)} ms (rows needed: ${(needed(policy) * S).toLocaleString('en-US')} of ${held.toLocaleString('en-US')})`);
  const oneMs = await time(() => sumWindows(store.db, [1], policy), 15);
  out.push(`evaluator read, 1 series x 7 windows:  median ${oneMs.toFixed(2)} ms (rows needed: ${needed(policy)})`);
  const chartMs = await time(() => sumWindows(store.db, [1], chart), 5);
  out.push(`chart read, 1 series x 200 windows:    median ${chartMs.toFixed(2)} ms (rows needed: ${needed(chart)})`);

  // The writer: per transaction 50 new 10 s buckets per series, each added to its 10 s, minute, hour, day rows.
  const TX = 200;
  const rows = [];
  for (let t = 0; t < TX; t++) {
    const list = new Map();
    for (const id of ids) {
      for (let c = 0; c < 50; c++) {
        const at = now + (t * 50 + c) * 10_000;
        for (const res of [10, 60, 3600, 86400]) {
          const b = Math.floor(at / (res * 1000)) * res * 1000;
          const k = `${id}:${res}:${b}`;
          const r = list.get(k) ?? { series_id: id, res, bucket: b, good: 0, total: 0 };
          r.good += 1;
          r.total += 2;
          list.set(k, r);
        }
      }
    }
    rows.push([...list.values()]);
  }
  const started = process.hrtime.bigint();
  let written = 0;
  for (const list of rows) {
    await store.db.transaction().execute(async (trx) => {
      for (let i = 0; i < list.length; i += 1000) {
        await trx
          .insertInto('slo_counts')
          .values(list.slice(i, i + 1000))
          .onConflict((oc) => oc.columns(['series_id', 'res', 'bucket']).doUpdateSet({ good: sql`slo_counts.good + excluded.good`, total: sql`slo_counts.total + excluded.total` }))
          .execute();
      }
    });
    written += list.length;
  }
  const writeMs = Number(process.hrtime.bigint() - started) / 1e6;
  out.push(`writer upserts: ${written.toLocaleString('en-US')} rows in ${TX} transactions, ${writeMs.toFixed(0)} ms: ${Math.round(written / (writeMs / 1000)).toLocaleString('en-US')} rows/s`);
  await store.close();
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
