/**
 * The console's responder pages in Debian's Chromium against a real Keel with data of known
 * figures: an SLO burning hard enough to page (its incident, linked alert and error-budget
 * impact), another burning slowly (a dated forecast), a schedule that starts in two days (a gap,
 * then the signed-in person's shift and its iCalendar feed), the incident queue by keyboard,
 * integration keys, and single sign-on through a real OpenID Connect provider.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, type TestKeel } from '../helpers/keel.js';
import { startIdp, type TestIdp } from '../helpers/oidc.js';
import { applyOk, startPagingKeel, waitFor } from '../helpers/paging.js';
import { settled } from '../slo/fixtures.js';
import { launch, signIn } from './browser.js';

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
const ann = { email: 'ann@example.com', name: 'Ann Example', password: 'ann-password-12345' };

let t: TestKeel;
let idp: TestIdp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let incident: { id: string; number: number };
/** Midnight UTC of the day after tomorrow: the schedule's first handoff. */
let firstShift: number;

const api = (path: string, init: { method?: string; json?: unknown } = {}) => http(`${t.url}${path}`, { key: t.adminKey, ...init });
const send = async (events: Record<string, unknown>[]) => {
  const r = await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(events), headers: { 'content-type': 'application/x-ndjson' } });
  expect(r.body.accepted, r.text).toBe(events.length);
};
/** How the console shows a time in the en-GB, UTC browser of these tests. */
const shown = (ms: number) => new Date(ms).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

const slo = (name: string, service: string) => `apiVersion: openslo/v1
kind: Service
metadata: {name: ${service}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: ${name}}
spec:
  service: ${service}
  indicator:
    metadata: {name: ${name}-sli}
    spec:
      ratioMetric:
        counter: true
        total: {metricSource: {type: keel, spec: {query: 'service == "${service}"'}}}
        good: {metricSource: {type: keel, spec: {query: 'status < 500'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: availability, target: 0.99}]
`;

const person = (handle: string) => `apiVersion: keel/v1
kind: User
metadata: {name: ${handle}}
spec: {email: ${handle}@example.com, name: ${handle[0]!.toUpperCase()}${handle.slice(1)} Example, timeZone: UTC}
`;

beforeAll(async () => {
  t = await startPagingKeel({ slo: { evaluationInterval: '1d' } });
  const now = Date.now();
  firstShift = Math.floor(now / D) * D + 2 * D;
  expect((await api('/v1/users', { json: { ...ann, role: 'admin' } })).status).toBe(201);
  await applyOk(
    t,
    [
      slo('checkout-availability', 'checkout'),
      slo('search-availability', 'search'),
      person('ann'),
      person('bob'),
      `apiVersion: keel/v1
kind: Schedule
metadata: {name: primary}
spec:
  timeZone: UTC
  layers:
    - {name: weekly, users: [ann, bob], start: "${new Date(firstShift).toISOString().slice(0, 10)}", turn: 1w, handoff: "00:00"}
`,
    ].join('---\n'),
  );
  // Both services: 10,000 good requests over five days, ending about nine hours ago.
  for (const service of ['checkout', 'search']) await send(Array.from({ length: 10_000 }, (_, i) => ({ ts: now - 5 * D + i * 40_000, service, status: 200 })));
  // Checkout, in the 40 minutes up to a minute ago (whole counter buckets): 600 requests, half
  // failing (a burn rate of 50: it pages).
  await send(Array.from({ length: 600 }, (_, i) => ({ ts: now - 41 * M + i * 4000, service: 'checkout', status: i % 2 ? 503 : 200 })));
  // Search, in the last 30 minutes: 100 requests, 2 failing (a burn rate of 2: no page).
  await send(Array.from({ length: 100 }, (_, i) => ({ ts: now - 30 * M + i * 15_000, service: 'search', status: i % 50 ? 200 : 503 })));
  await settled(t.url, t.adminKey);
  expect((await api('/v1/slo-evaluations', { method: 'POST' })).status).toBe(200);
  incident = await waitFor('the page to open an incident', async () => (await api('/v1/incidents?service=checkout')).body.incidents?.[0]);
  idp = await startIdp([`${t.url}/v1/auth/oidc/corp/callback`]);
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
  page = await context.newPage();
  await signIn(page, t.url, ann.email, ann.password);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await idp?.close();
  await t?.close();
});

const row = (title: string) => page.locator('tbody tr', { hasText: title });

describe('the incident queue by keyboard', () => {
  it('moves the selection with j and k, acknowledges with a and resolves with r the selected incident', async () => {
    const declared: Record<string, { id: string; number: number }> = {};
    for (const title of ['Queue A', 'Queue B', 'Queue C']) {
      const r = await api('/v1/incidents', { json: { title, service: 'search', severity: 'SEV3', page: false } });
      expect(r.status, r.text).toBe(201);
      declared[title] = r.body;
    }
    await page.goto(`${t.url}/incidents?state=open`);
    // Newest first: C, B, A, then the incident the checkout page opened; the first row is selected.
    await page.waitForSelector('tr.selected');
    expect(await page.locator('tbody tr td:nth-child(2)').allTextContents()).toEqual([
      'Queue C',
      'Queue B',
      'Queue A',
      'SLO checkout-availability is burning its error budget (page, policy default) paged nobody',
    ]);
    const selected = page.locator('tbody tr[aria-selected=true]');
    // Waits for the page to draw the move (a key press and the render are not one step).
    const selectedIs = async (title: string) => {
      await page.locator('tbody tr[aria-selected=true]', { hasText: title }).waitFor();
      expect(await page.locator('tr.selected').count()).toBe(1);
      expect(await selected.textContent()).toContain(title);
    };
    await selectedIs('Queue C');
    await page.keyboard.press('j');
    await selectedIs('Queue B');
    // "a" acts on the moved selection, not on the first row.
    await page.keyboard.press('a');
    await page.waitForSelector(`[role=status]:text-is("#${declared['Queue B']!.number} acknowledged")`);
    await row('Queue B').locator('.badge:text-is("acknowledged")').waitFor();
    expect((await api(`/v1/incidents/${declared['Queue B']!.id}`)).body.state).toBe('acknowledged');
    expect((await api(`/v1/incidents/${declared['Queue C']!.id}`)).body.state).toBe('triggered');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await selectedIs('SLO checkout-availability');
    // j stops at the last row (one k is then enough to go up one), k at the first (one j to go down).
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await selectedIs('Queue A');
    for (let i = 0; i < 3; i++) await page.keyboard.press('k');
    await page.keyboard.press('j');
    await selectedIs('Queue B');
    await page.keyboard.press('r');
    await page.waitForSelector(`[role=status]:text-is("#${declared['Queue B']!.number} resolved")`);
    // Resolved, it leaves the open queue; the selection stays on the second row, now Queue A.
    await row('Queue B').waitFor({ state: 'detached' });
    expect(await page.locator('tbody tr td:nth-child(2)').allTextContents()).toEqual([
      'Queue C',
      'Queue A',
      'SLO checkout-availability is burning its error budget (page, policy default) paged nobody',
    ]);
    await selectedIs('Queue A');
    const b = (await api(`/v1/incidents/${declared['Queue B']!.id}`)).body;
    expect(b.state).toBe('resolved');
    expect((await api(`/v1/incidents/${declared['Queue A']!.id}`)).body.state).toBe('triggered');
    const tl = (await api(`/v1/incidents/${declared['Queue B']!.id}/timeline`)).body.timeline as { actor: string; data: { to?: string } }[];
    expect(tl.filter((e) => e.data.to).map((e) => [e.data.to, e.actor])).toEqual([
      ['acknowledged', `user:${ann.email}`],
      ['resolved', `user:${ann.email}`],
    ]);
  });
});

describe('an incident opened by an SLO page', () => {
  it('lists its linked alerts and shows the error budget it cost the SLO', async () => {
    await page.goto(`${t.url}/incidents/${incident.id}`);
    await page.waitForSelector('h1:text-is("#1 SLO checkout-availability is burning its error budget (page, policy default)")');
    const alerts = page.locator('h2:text-is("Alerts") + ul li');
    await alerts.first().waitFor();
    const texts = (await alerts.allTextContents()).map((x) => x.replace(/last .*\)$/, 'last …)'));
    expect(texts.sort()).toEqual([
      'firing page SLO checkout-availability is burning its error budget (page, policy default) (slo, ×1, last …)',
      'firing ticket SLO checkout-availability is burning its error budget (ticket, policy default) (slo, ×1, last …)',
    ]);
    // 300 bad events since the burn began, against a budget of 1 % of the 10,600 events of the
    // 30-day window (106): 283.0 %. Counted from the start of the 6 h window of the page rule that
    // fired (page-6h-30m), on the counters' 10-second buckets.
    const paged = ((await api(`/v1/incidents/${incident.id}`)).body.alerts as { severity: string; first_seen: string }[]).find((a) => a.severity === 'page')!;
    const from = Math.floor((Date.parse(paged.first_seen) - 6 * H) / 10_000) * 10_000;
    const impact = page.locator('article:has(h2:text-is("Error budget impact")) li');
    await impact.waitFor();
    expect(await impact.textContent()).toBe(`checkout-availability: 283.0% of the error budget, 300 bad events since ${shown(from)}`);
    expect(await impact.locator('a').getAttribute('href')).toBe('/slos/checkout-availability');
  });

  it('is mitigated from its page: the state changes and the timeline says so', async () => {
    await page.click('button:text-is("Mitigate")');
    await page.waitForSelector('.facts .badge:text-is("mitigated")');
    // Mitigated: no more Acknowledge or Mitigate; Resolve stays.
    expect(await page.locator('.actions-row button').allTextContents()).toEqual(['Resolve']);
    const detail = (await api(`/v1/incidents/${incident.id}`)).body;
    expect(detail.state).toBe('mitigated');
    expect(detail.mitigated_at).not.toBeNull();
    const tl = (await api(`/v1/incidents/${incident.id}/timeline`)).body.timeline as { at: string; type: string; message: string; actor: string; data: { to?: string } }[];
    const entry = tl.find((e) => e.data.to === 'mitigated')!;
    expect(entry.actor).toBe(`user:${ann.email}`);
    await page.locator('.timeline li', { hasText: entry.message }).waitFor();
    expect(await page.locator('.timeline li').first().textContent()).toBe(`${shown(Date.parse(entry.at))} state Mitigated — user:${ann.email}`);
  });

  it('assigns a commander, shown by name', async () => {
    await page.selectOption('article:has(h2:text-is("Roles")) select', 'commander');
    await page.fill('#f-role-user', 'bob@example.com');
    await page.click('button:text-is("Assign")');
    await page.waitForSelector('article:has(h2:text-is("Roles")) li:has-text("commander: Bob Example")');
    expect(await page.locator('article:has(h2:text-is("Roles")) li').allTextContents()).toEqual(['commander: Bob Example Unassign']);
    expect((await api(`/v1/incidents/${incident.id}`)).body.roles.commander).toMatchObject({ email: 'bob@example.com', name: 'Bob Example' });
    expect(await page.inputValue('#f-role-user')).toBe('');
  });

  it('adds an action item with an owner, listed under the postmortem', async () => {
    await page.fill('#f-item-title', 'Alert on payment errors per region');
    await page.fill('#f-item-owner', 'ann@example.com');
    await page.click('button:text-is("Add")');
    const item = page.locator('h2:text-is("Action items") + ul li');
    await item.waitFor();
    expect(await item.allTextContents()).toEqual(['open Alert on payment errors per region (Ann Example)Done']);
    expect((await api(`/v1/incidents/${incident.id}`)).body.action_items).toMatchObject([{ title: 'Alert on payment errors per region', status: 'open', owner: { email: 'ann@example.com' } }]);
  });
});

describe('an SLO’s page', () => {
  it('shows a burning SLO exhausted, its alert windows, its alerts and their transitions', async () => {
    await page.goto(`${t.url}/slos/checkout-availability`);
    const card = page.locator('[data-testid="slo-objective"] article').first();
    await card.waitFor();
    // 300 bad of 10,600: SLI 97.170 %; budget 106 bad events, 300 used: −183.0 % left.
    expect(await card.locator('p').allTextContents()).toEqual(['Target 99.000%, SLI 97.170% (300 bad of 10600)', 'Error budget left: -183.0%', 'Forecast (1h, burn 50×): budget exhausted']);
    const windows = page.locator('h2:text-is("Alerts") + ul li');
    await windows.first().waitFor();
    expect(await windows.allTextContents()).toEqual([
      'page default/page-1h-5m: burn > 14.4 over 1h and 5m',
      'page default/page-6h-30m: burn > 6 over 6h and 30m',
      'ticket default/ticket-1d-2h: burn > 3 over 1d and 2h',
      'ticket default/ticket-3d-6h: burn > 1 over 3d and 6h',
    ]);
    const fired = ((await api('/v1/slos/checkout-availability/alerts')).body.transitions as { at: string }[])[0]!.at;
    expect((await page.locator('h2:text-is("Alerts") ~ ul').nth(1).locator('li').allTextContents()).sort()).toEqual(
      [`resolved default page (no data) since ${shown(Date.parse(fired))}`, `firing default page since ${shown(Date.parse(fired))}`, `firing default ticket since ${shown(Date.parse(fired))}`].sort(),
    );
    expect((await page.locator('h3:text-is("Transitions") + ol li').allTextContents()).sort()).toEqual([
      `${shown(Date.parse(fired))} firing default page`,
      `${shown(Date.parse(fired))} firing default ticket`,
    ]);
  });

  it('forecasts when a slowly burning SLO runs out of budget', async () => {
    const before = Date.now();
    await page.goto(`${t.url}/slos/search-availability`);
    const card = page.locator('[data-testid="slo-objective"] article').first();
    await card.waitFor();
    const after = Date.now();
    // 2 bad of 10,100: a budget of 101, 99 left (98.0 %). The last hour burns at 2 × (2 bad of 100
    // against 1 %), so what is left lasts 99/101 × 30 days / 2 = 1,270,337 s: 15 days.
    const inMs = 1_270_337_000;
    const f = (await api('/v1/slos/search-availability')).body.objectives[0].forecast;
    expect(f).toMatchObject({ window: '1h', burnRate: 2, exhausted: false, exhaustsInSeconds: 1_270_337 });
    const lines = await card.locator('p').allTextContents();
    expect(lines.slice(0, 2)).toEqual(['Target 99.000%, SLI 99.980% (2 bad of 10100)', 'Error budget left: 98.0%']);
    // The date is now + 15 days, to the minute the page was drawn.
    expect([`Forecast (1h, burn 2×): runs out in 15d (${shown(before + inMs)})`, `Forecast (1h, burn 2×): runs out in 15d (${shown(after + inMs)})`]).toContain(lines[2]);
    expect(await page.textContent('h3:text-is("Transitions") + p')).toBe('None yet.');
  });
});

describe('the on-call page', () => {
  it('flags the gap before the schedule starts, lists my shifts, and gives an iCalendar feed', async () => {
    await page.goto(`${t.url}/oncall`);
    const gap = page.locator('[data-testid="schedule-primary"] [role=alert]');
    await gap.waitFor();
    // The rotation starts the day after tomorrow at midnight UTC: nobody is on call until then.
    expect(await gap.textContent()).toMatch(new RegExp(`^Nobody is on call for 1 gap in the next 7 days: \\d+ \\w{3} \\d{4}, \\d\\d:\\d\\d – ${shown(firstShift)}$`));
    // In the week at a glance, every day until then (today and tomorrow) is marked, and no other.
    const gapDays = (firstShift - Math.floor(Date.now() / D) * D) / D;
    const days = page.locator('[data-testid="schedule-primary"] .week li');
    expect(await days.evaluateAll((lis) => lis.map((li) => li.className))).toEqual(Array.from({ length: 7 }, (_, i) => (i < gapDays ? 'gap' : '')));
    // Ann takes the first week, from that midnight.
    expect(await page.locator('[data-testid="my-shifts"] li').allTextContents()).toEqual([`primary: ${shown(firstShift)} – ${shown(firstShift + 7 * D)} weekly`]);
    await page.click('button:text-is("iCalendar link for my calendar")');
    const link = page.locator('section:has(> h2:text-is("My shifts (next 14 days)")) .secret code');
    await link.waitFor();
    // The test Keel's public URL says port 0: the path and token are what count.
    const url = new URL((await link.textContent())!);
    expect(url.pathname).toBe('/v1/oncall/users/ann%40example.com/ical');
    expect(url.searchParams.get('token')).toMatch(/^.{20,}$/);
    const r = await fetch(`${t.url}${url.pathname}${url.search}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/calendar; charset=utf-8');
    const ics = await r.text();
    expect(ics.startsWith('BEGIN:VCALENDAR')).toBe(true);
    const stamp = (ms: number) =>
      new Date(ms)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
    expect(ics).toContain(`DTSTART:${stamp(firstShift)}`);
    expect(ics).toContain(`DTEND:${stamp(firstShift + 7 * D)}`);
    expect(ics).toContain('SUMMARY:On call: Ann Example (primary)');
    expect(ics.trimEnd().endsWith('END:VCALENDAR')).toBe(true);
  });
});

describe('integration keys in settings', () => {
  it('shows a new key once, lists it, and revoking it removes it', async () => {
    await page.goto(`${t.url}/settings`);
    const section = page.locator('section:has(> h2:text-is("Integrations"))');
    await section.locator('select').selectOption('events-v2');
    await page.fill('#f-integration-service', 'checkout');
    await section.locator('button:text-is("Add integration")').click();
    const shownKey = section.locator('.secret code').first();
    await shownKey.waitFor();
    const key = (await shownKey.textContent())!;
    const listed = (await api('/v1/integrations')).body.integrations as { id: string; type: string; service: string | null; prefix: string }[];
    expect(listed.map((i) => [i.type, i.service])).toEqual([['events-v2', 'checkout']]);
    expect(key.startsWith(listed[0]!.prefix)).toBe(true);
    const item = section.locator('li', { hasText: listed[0]!.prefix });
    await item.waitFor();
    expect(await item.textContent()).toBe(`events-v2 events-v2-checkout → checkout ${listed[0]!.prefix} Revoke`);
    // The key works: an event through it opens an alert.
    const ev = { routing_key: key, event_action: 'trigger', dedup_key: 'disk-1', payload: { summary: 'Disk almost full on db-1', source: 'db-1', severity: 'critical' } };
    expect((await http(`${t.url}/v1/integrations/events-v2`, { json: ev })).status).toBe(202);
    // Shown once: after a reload only its prefix is listed.
    await page.reload();
    await item.waitFor();
    expect(await section.locator('.secret').count()).toBe(0);
    expect(await section.textContent()).not.toContain(key);
    await item.locator('button:text-is("Revoke")').click();
    await item.waitFor({ state: 'detached' });
    expect((await api('/v1/integrations')).body.integrations).toEqual([]);
    // Revoked, the same key is unknown to Keel (the Events v2 answer for a routing key it does not know).
    const refused = await http(`${t.url}/v1/integrations/events-v2`, { json: ev });
    expect(refused.status).toBe(404);
    expect(refused.text).toContain('Routing key not found');
  });
});

describe('single sign-on on the sign-in page', () => {
  it('offers the configured provider and signs a new person in through it', async () => {
    const put = await api('/v1/sso/providers/corp', {
      method: 'PUT',
      json: { display_name: 'Corp SSO', issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, default_team: 'default', default_role: 'responder' },
    });
    expect(put.status, put.text).toBe(200);
    const anon = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
    try {
      const p = await anon.newPage();
      await p.goto(`${t.url}/sign-in`);
      const sso = p.locator('a.button:text-is("Corp SSO")');
      await sso.waitFor();
      expect(await sso.getAttribute('href')).toBe('/v1/auth/oidc/corp/login?return_to=%2Fnow');
      await sso.click();
      // The provider's own login form, on its origin.
      await p.waitForSelector('input[name=login]');
      expect(new URL(p.url()).origin).toBe(idp.issuer);
      await p.fill('input[name=login]', 'carol');
      await p.fill('input[name=password]', 'any password the dev provider accepts');
      await p.click('button[type=submit]');
      // Its consent form, then back to Keel's console.
      await p.waitForSelector('button[type=submit]');
      await p.click('button[type=submit]');
      await p.waitForSelector('h1:text-is("Now")');
      expect(p.url()).toBe(`${t.url}/now`);
      const me = (await p.evaluate(`fetch('/v1/session').then((r) => r.json())`)) as { kind: string; team: string; role: string; user: { email: string; last_sign_in_method: string } };
      expect(me).toMatchObject({ kind: 'user', team: 'default', role: 'responder', user: { email: 'carol@idp.test', last_sign_in_method: 'oidc:corp' } });
    } finally {
      await anon.close();
    }
  });
});
