/**
 * The console's capacity pages in Debian's Chromium: every limit ranked by time to exhaustion with
 * utilisation, trend, band and action; a limit's page with the server-rendered picture of
 * `keel capacity plot`; deep links (what-if growth in the URL); a tenant's person sees only their
 * tenant's limits; axe-core and a 375 px phone width, as on the other pages.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityService } from '../../src/capacity/capacity-service.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { launch, screenshot, seriousViolations, signIn } from './browser.js';

const H = 3_600_000;
const D = 24 * H;
let t: TestKeel;
let browser: Browser;
let plantedAt: number;
const admin = { email: 'cap@keel.test', password: 'capacity-admin-pass-1' };
const acmeViewer = { email: 'viewer@acme.test', password: 'acme-viewer-pass-1' };

beforeAll(async () => {
  t = await startTestKeel({ capacity: { sampleInterval: '200ms' } });
  expect((await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'acme', eventsPerSecond: 1000, burst: 5000 } })).status).toBe(201);
  const acmeAdmin = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'] } })).body.key as string;
  const ingest = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['ingest'] } })).body.key as string;
  expect((await http(`${t.url}/v1/users`, { key: t.adminKey, json: { email: admin.email, name: 'Cap Admin', role: 'admin', password: admin.password } })).status).toBe(201);
  expect((await http(`${t.url}/v1/users`, { key: acmeAdmin, json: { email: acmeViewer.email, name: 'Acme Viewer', role: 'viewer', password: acmeViewer.password } })).status).toBe(201);
  expect(
    (await http(`${t.url}/v1/events`, { method: 'POST', key: ingest, body: ndjson(Array.from({ length: 60 }, (_, i) => ({ i }))), headers: { 'content-type': 'application/x-ndjson' } })).status,
  ).toBe(202);
  // A limit of acme's own platform (its Limit definition, so it is reported) with three days of
  // planted history: 50 → 80 of 100 GB at 10 GB a day, so it runs out two days from now, before
  // every one of Keel's own limits.
  const disk = `apiVersion: keel/v1
kind: Limit
metadata: {name: disk}
spec:
  filter: 'metric == "disk"'
  usage: {field: used, aggregate: max}
  capacity: 100
`;
  expect((await http(`${t.url}/v1/definitions/apply`, { key: acmeAdmin, json: { sources: [{ file: 'disk.yaml', content: disk }] } })).status).toBe(200);
  plantedAt = Date.now();
  const capacity = new CapacityService(t.keel.store, t.keel.ctx.config);
  for (let h = 72; h >= 0; h--) await capacity.record(plantedAt - h * H, [{ id: 'limit.acme.disk', tenant: 'acme', usage: 80 - (10 * h) / 24, capacity: 100 }]);
  browser = await launch();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function page(width: number, who = admin): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const p = await ctx.newPage();
  await signIn(p, t.url, who.email, who.password);
  return p;
}

/** `2026-12-07 01:23 UTC` in the page → epoch ms. */
const shown = (text: string): number => Date.parse(`${/(\d{4}-\d\d-\d\d \d\d:\d\d) UTC/.exec(text)![1]!.replace(' ', 'T')}:00Z`);

describe('the capacity page', () => {
  it('ranks every limit by time to exhaustion, with utilisation, trend, band and action', async () => {
    const p = await page(1280);
    await p.click('nav a:text-is("Capacity")');
    await p.waitForSelector('[data-testid="capacity-limits"] tbody tr');
    // acme's disk runs out in two days, before any of Keel's own limits of a quiet machine; the data
    // disk under a test suite's writes may forecast sooner, so the row is found by its limit.
    const row = p.locator('[data-testid="capacity-limits"] tbody tr[data-limit="limit.acme.disk"]');
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe('limit.acme.disklimit disk of tenant acme');
    expect(cells[1]).toBe('80 / 100');
    expect(cells[2]).toBe('80.0%');
    expect(cells[3]).toBe('+10/day');
    // Two days from the last sample, within the hour; the band's edges are shown beside it.
    expect(Math.abs(shown(cells[4]!) - (plantedAt + 2 * D))).toBeLessThan(H);
    expect(cells[4]).toMatch(/\(band \d{4}-\d\d-\d\d \d\d:\d\d – (\d{4}-\d\d-\d\d \d\d:\d\d|beyond the horizon)\)/);
    expect(cells[5]).toBe('raise the capacity of this resource or move load away from it');
    // Keel's own limits follow, each with its action: the rate quota of acme among them.
    const rate = p.locator('tr[data-limit="tenant.acme.rate"] td');
    await rate.first().waitFor();
    expect(await rate.nth(1).textContent()).toMatch(/ \/ 1k events\/s$/);
    expect(await rate.nth(5).textContent()).toContain('keel tenants update acme --events-per-second N');
    expect(await p.locator('tr[data-limit="node.ingest"]').count()).toBe(1);
    // Ranked by what the page shows: at capacity first, then the dated exhaustions soonest first,
    // then the limits that do not run out within the horizon. (Keel's own limits, e.g. the disk the
    // whole test suite writes to, are sampled every 200 ms and move between two reads, so the
    // page's order is checked against its own figures, not against a second call to the API.)
    const shownRanks = (await p.locator('[data-testid="capacity-limits"] tbody tr td:nth-child(5)').allTextContents()).map((text) =>
      text.startsWith('at capacity') ? -Infinity : /^\d{4}-\d\d-\d\d \d\d:\d\d UTC/.test(text) ? shown(text) : Infinity,
    );
    expect(shownRanks.length).toBeGreaterThan(3);
    expect(shownRanks).toEqual([...shownRanks].sort((a, b) => a - b));
    await p.context().close();
  });

  it('opens a limit with the picture keel capacity plot draws; what-if growth stays in the URL', async () => {
    const p = await page(1280);
    await p.goto(`${t.url}/capacity`);
    await p.fill('#f-growth', '50%/month');
    await p.click('button:text-is("Apply")');
    await p.waitForURL((u) => u.pathname === '/capacity' && u.searchParams.get('growth') === '50%/month');
    await p.click('a:text-is("limit.acme.disk")');
    await p.waitForSelector('[data-testid="limit-facts"]');
    expect(new URL(p.url()).pathname).toBe('/capacity/limit.acme.disk');
    expect(new URL(p.url()).searchParams.get('growth')).toBe('50%/month');
    const facts = (await p.textContent('[data-testid="limit-facts"]'))!;
    expect(facts).toContain('Use 80 of 100');
    expect(facts).toContain('Peaks: 1 h 80, 1 d 80, 7 d 80');
    expect(await p.textContent('[data-testid="limit-action"]')).toBe('What would help: raise the capacity of this resource or move load away from it');
    // The server's SVG, shown as an image that loaded (a CSP refusal would leave it 0 wide).
    const img = p.locator('[data-testid="limit-plot"] img');
    await img.waitFor();
    await p.waitForSelector('[data-testid="limit-plot"] img[src^="data:image/svg+xml"]');
    // (test files are typed without the DOM library: the element is read as what it holds)
    await expect.poll(() => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth), { timeout: 10_000 }).toBeGreaterThan(700);
    const svg = decodeURIComponent((await img.getAttribute('src'))!.replace('data:image/svg+xml;charset=utf-8,', ''));
    // The same picture as the plot route (keel capacity plot) with the same what-if growth: 80 growing
    // 50 % a month reaches 100 after 30 d · ln 1.25 / ln 1.5 = 16.5 days, past the 14-day horizon.
    const direct = await http(`${t.url}/v1/capacity/limits/limit.acme.disk/plot?format=svg&growth=50%25/month`, { key: t.adminKey });
    const subtitle = (s: string) => /aria-label="Subtitle text '([^']*)'"/.exec(s)?.[1];
    expect(subtitle(svg)).toMatch(/^80\.0 % used now; not before \d{4}-\d\d-\d\d$/);
    expect(subtitle(svg)).toBe(subtitle(direct.text));
    expect(svg).toContain('limit.acme.disk: limit disk of tenant acme');
    // The capacity line is labelled once.
    expect(svg.split('>capacity 100<').length - 1).toBe(1);
    await screenshot(p, 'capacity-limit-1280');
    await p.context().close();
  });

  it('deep links open the page directly, and a limit that is not there says so', async () => {
    const p = await page(1280);
    await p.goto(`${t.url}/capacity/limit.acme.disk?horizon=1d`);
    await p.waitForSelector('[data-testid="limit-facts"]');
    // One day ahead is not enough for a limit two days from full.
    expect(await p.textContent('[data-testid="limit-facts"] [data-testid="exhaustion"]')).toMatch(/^not before \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    await p.goto(`${t.url}/capacity/no.such.limit`);
    await p.waitForSelector('main [role=alert]');
    expect(await p.textContent('main [role=alert]')).toContain('no tracked limit "no.such.limit"');
    await p.goto(`${t.url}/capacity?horizon=forever`);
    await p.waitForSelector('#f-horizon + .field-error');
    expect(await p.textContent('#f-horizon + .field-error')).toBe('expected a duration such as 14d, 36h or 2w');
    expect(await p.textContent('main p[role=alert]')).toContain('horizon: "forever"');
    expect(await p.inputValue('#f-horizon')).toBe('forever');
    await p.context().close();
  });

  it("shows a tenant's person only their tenant's limits", async () => {
    const p = await page(375, acmeViewer);
    await p.goto(`${t.url}/capacity`);
    await p.waitForSelector('[data-testid="capacity-limits"] tbody tr');
    const ids = await p.locator('[data-testid="capacity-limits"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-limit')));
    expect(ids.sort()).toEqual(['limit.acme.disk', 'tenant.acme.rate']);
    await p.context().close();
  });

  it('has no serious accessibility violations (axe-core), at 1280 and 375 px, and is screenshotted', async () => {
    const problems: string[] = [];
    for (const width of [1280, 375]) {
      const p = await page(width);
      for (const [name, path] of [
        ['capacity', '/capacity'],
        ['capacity-limit', '/capacity/limit.acme.disk'],
      ] as const) {
        await p.goto(`${t.url}${path}`);
        await p.waitForSelector('main h1');
        // Until every loading note is gone (a selector wait: the CSP refuses string functions).
        await p.waitForSelector('main [aria-live=polite].muted', { state: 'detached' });
        problems.push(...(await seriousViolations(p)).map((v) => `${name}@${width}: ${v}`));
        // At phone width nothing but the table's own scroll region is wider than the screen.
        const overflow = await p.evaluate('document.documentElement.scrollWidth');
        expect({ name, width, overflow }).toEqual({ name, width, overflow: width });
        await screenshot(p, `${name}-${width}`);
      }
      await p.context().close();
    }
    expect(problems).toEqual([]);
  });
});
