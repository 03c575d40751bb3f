#!/usr/bin/env node
/**
 * The console's budget, measured in Debian's Chromium against a Keel started on a fresh data dir
 * (npm run build first):
 *   1. compressed JavaScript (and CSS) of the first load of every page (budget: < 150 KB of JS);
 *   2. the incident queue with 10,000 incidents: what the first page transfers, how long it takes
 *      to show, and walking every page by cursor (never all at once);
 *   3. the SLO page with a 30-day window (30 days of events): time until its three charts are drawn.
 *
 *   node scripts/bench-console.mjs [--incidents 10000] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { spawnKeel } from '../dist/bench/spawn-keel.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const INCIDENTS = opt('incidents', 10_000);
const json = args.includes('--json');
const log = (s) => process.stderr.write(`${s}\n`);
const PASSWORD = 'bench the console 2026';

const dataDir = mkdtempSync(join(tmpdir(), 'keel-bench-console-'));
const keel = await spawnKeel({ dataDir });
const call = async (method, path, body, raw) => {
  const r = await fetch(`${keel.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${keel.adminKey}`, ...(raw ? { 'content-type': 'application/x-ndjson' } : body ? { 'content-type': 'application/json' } : {}) },
    ...(raw ? { body: raw } : body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
};
const browser = await chromium.launch({
  executablePath: process.env.KEEL_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = {};
try {
  await call('POST', '/v1/users', { email: 'bench@example.com', name: 'Bench', role: 'admin', password: PASSWORD });
  await call('POST', '/v1/definitions/apply', {
    sources: [
      {
        file: 'bench.yaml',
        content: `apiVersion: openslo/v1
kind: Service
metadata: {name: shop}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: shop-availability}
spec:
  service: shop
  indicator:
    metadata: {name: shop-requests}
    spec:
      ratioMetric:
        counter: true
        total: {metricSource: {type: keel, spec: {query: 'service == "shop"'}}}
        good: {metricSource: {type: keel, spec: {query: 'status < 500'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: availability, target: 0.999}]
`,
      },
    ],
  });
  // 30 days of traffic, one event a minute, a bad hour every few days.
  const now = Date.now();
  const events = [];
  for (let ts = now - 30 * 86_400_000; ts < now; ts += 60_000) events.push({ ts, service: 'shop', status: Math.floor(ts / 3_600_000) % 83 === 0 ? 503 : 200 });
  for (let i = 0; i < events.length; i += 10_000)
    await call(
      'POST',
      '/v1/events',
      undefined,
      events
        .slice(i, i + 10_000)
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
  log(`sent ${events.length} events over 30 days`);

  // 10,000 incidents through the API, eight at a time.
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < INCIDENTS) {
        const i = next++;
        await call('POST', '/v1/incidents', { title: `Bench incident ${i}`, severity: `SEV${(i % 4) + 1}`, page: false });
      }
    }),
  );
  log(`declared ${INCIDENTS} incidents in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // Walking the whole queue by cursor, 50 at a time (what the console's "Older" does).
  const walk0 = performance.now();
  let cursor = null;
  let pages = 0;
  let seen = 0;
  let slowest = 0;
  do {
    const p0 = performance.now();
    const r = await call('GET', `/v1/incidents?state=all&limit=50${cursor ? `&cursor=${cursor}` : ''}`);
    slowest = Math.max(slowest, performance.now() - p0);
    seen += r.incidents.length;
    cursor = r.next_cursor;
    pages++;
  } while (cursor);
  out.queue = { incidents: seen, pages, walkAllMs: Math.round(performance.now() - walk0), slowestPageMs: Math.round(slowest * 10) / 10 };

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${keel.url}/sign-in`);
  await page.fill('#f-email', 'bench@example.com');
  await page.fill('#f-password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('h1:text-is("Now")');

  // 1. First load of every page, in a fresh tab with an empty cache (the session cookie kept).
  const paths = ['/sign-in', '/now', '/incidents', '/incidents/1', '/slos', '/slos/shop-availability', '/alerts', '/oncall', '/audit', '/settings'];
  out.firstLoad = [];
  for (const path of paths) {
    const p = await ctx.newPage();
    const cdp = await ctx.newCDPSession(p);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await p.goto(`${keel.url}${path}`, { waitUntil: 'networkidle' });
    const sizes = await p.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((e) => e.name.includes('/assets/'))
        .map((e) => ({ name: e.name, encoded: e.encodedBodySize, decoded: e.decodedBodySize })),
    );
    const sum = (ext, k) => sizes.filter((s) => s.name.endsWith(ext)).reduce((a, s) => a + s[k], 0);
    out.firstLoad.push({ path, jsGzipBytes: sum('.js', 'encoded'), jsBytes: sum('.js', 'decoded'), cssGzipBytes: sum('.css', 'encoded') });
    await p.close();
  }

  // 2. The queue page with 10,000 incidents: time to the first rows, bytes of the list call.
  const q0 = Date.now();
  await page.goto(`${keel.url}/incidents?state=all`);
  await page.waitForSelector('tr.selected');
  const queueMs = Date.now() - q0;
  const listBytes = await page.evaluate(
    () =>
      performance
        .getEntriesByType('resource')
        .filter((e) => e.name.includes('/v1/incidents?'))
        .map((e) => e.decodedBodySize)[0],
  );
  out.queue.browserFirstPageMs = queueMs;
  out.queue.rowsShown = await page.locator('tbody tr').count();
  out.queue.listResponseBytes = listBytes;

  // 3. The SLO page, 30-day window: navigation to three drawn charts; the series call alone.
  const s0 = Date.now();
  await page.goto(`${keel.url}/slos/shop-availability?range=30d`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="slo-charts"] canvas').length === 3);
  const sloMs = Date.now() - s0;
  const series = await page.evaluate(() => {
    const e = performance.getEntriesByType('resource').find((x) => x.name.includes('/series?'));
    return e ? { ms: Math.round(e.duration), bytes: e.decodedBodySize } : null;
  });
  out.slo30d = { pageToChartsMs: sloMs, seriesApiMs: series?.ms ?? null, seriesBytes: series?.bytes ?? null };
} finally {
  await browser.close();
  await keel.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

if (json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  process.stdout.write('First load (empty cache), per page: compressed JS (raw), compressed CSS; budget < 150 KB compressed JS\n');
  for (const f of out.firstLoad) process.stdout.write(`  ${f.path.padEnd(26)} ${kb(f.jsGzipBytes).padStart(9)} (${kb(f.jsBytes)})  css ${kb(f.cssGzipBytes)}\n`);
  const q = out.queue;
  process.stdout.write(
    `Incident queue, ${q.incidents} incidents: first page in the browser ${q.browserFirstPageMs} ms (${q.rowsShown} rows, list answer ${kb(q.listResponseBytes)}); every page by cursor: ${q.pages} pages in ${q.walkAllMs} ms, slowest ${q.slowestPageMs} ms\n`,
  );
  const s = out.slo30d;
  process.stdout.write(`SLO page, 30-day window: navigation to three drawn charts ${s.pageToChartsMs} ms (series API ${s.seriesApiMs} ms, ${kb(s.seriesBytes ?? 0)})\n`);
}
