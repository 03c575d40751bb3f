/**
 * Daily volume quotas: the arithmetic (pure), two ingest gates sharing one PostgreSQL counter
 * (the sum admitted never passes the quota), and end to end in the embedded mode: the API and
 * CLI, the 429 naming the limit, and the 80 % and 100 % notices through the alert pipeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/auth/tenants.js';
import { dailyQuotaAlerts, removedQuotaNotices, untrackedLimitAlerts } from '../../src/capacity/capacity-alerts.js';
import { dailyLeaseSize, dayOf, leaseDaily, noticeLevel, secondsToNextDay } from '../../src/capacity/daily-quota.js';
import { DailyQuotaGate } from '../../src/capacity/daily-quota-gate.js';
import { DailyQuotaService } from '../../src/capacity/daily-quota-service.js';
import { FakeClock } from '../../src/core/clock.js';
import type { QuotaGate } from '../../src/ingest/quotas.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { keel } from '../helpers/cli.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

describe('daily quota arithmetic', () => {
  it('days are UTC; the retry is the rest of the day', () => {
    const t = Date.parse('2026-03-02T23:59:30Z');
    expect(dayOf(t)).toBe(Date.parse('2026-03-02T00:00:00Z'));
    expect(secondsToNextDay(t)).toBe(30);
  });

  it('leases 1/200 of the quota (at least 100), at least the need, never more than remains', () => {
    expect(dailyLeaseSize(1_000_000, 10, 1_000_000)).toBe(5_000);
    expect(dailyLeaseSize(1_000, 10, 1_000)).toBe(100);
    expect(dailyLeaseSize(1_000_000, 8_000, 1_000_000)).toBe(8_000);
    expect(dailyLeaseSize(1_000_000, 10, 40)).toBe(40);
    expect(leaseDaily(1_000, 990, 10)).toEqual({ granted: 10 });
    expect(leaseDaily(1_000, 995, 10)).toEqual({ refused: true, remaining: 5 });
  });

  it('notices at 80 % and 100 %', () => {
    expect(noticeLevel(79, 100)).toBe(0);
    expect(noticeLevel(80, 100)).toBe(80);
    expect(noticeLevel(100, 100)).toBe(100);
    expect(dailyQuotaAlerts('acme', 85, 100, '2026-03-02').map((a) => [a.dedupKey, a.status, a.severity])).toEqual([
      ['capacity:tenant.acme.daily:80', 'firing', 'warning'],
      ['capacity:tenant.acme.daily:100', 'resolved', 'critical'],
    ]);
  });

  it('resolves the firing notices of tenants without a quota, and nothing else', () => {
    const firing = [
      { tenant: 'acme', dedupKey: 'capacity:tenant.acme.daily:80' },
      { tenant: 'acme', dedupKey: 'capacity:tenant.acme.daily:100' },
      { tenant: 'beta', dedupKey: 'capacity:tenant.beta.daily:80' },
      { tenant: 'acme', dedupKey: 'capacity:disk:utilisation' },
      // Another tenant's name in the key is not this tenant's notice.
      { tenant: 'gamma', dedupKey: 'capacity:tenant.acme.daily:80' },
    ];
    expect(removedQuotaNotices(firing, new Set(['beta'])).map((a) => [a.tenant, a.dedupKey, a.status, a.severity])).toEqual([
      ['acme', 'capacity:tenant.acme.daily:80', 'resolved', 'warning'],
      ['acme', 'capacity:tenant.acme.daily:100', 'resolved', 'critical'],
    ]);
    expect(removedQuotaNotices(firing, new Set(['acme', 'beta']))).toEqual([]);
  });

  it('resolves the firing utilisation and forecast alerts of limits no longer reported, and nothing else', () => {
    const firing = [
      { tenant: 'acme', dedupKey: 'capacity:limit.acme.seats:utilisation' },
      { tenant: 'acme', dedupKey: 'capacity:limit.acme.seats:forecast' },
      { tenant: 'default', dedupKey: 'capacity:disk:utilisation' },
      { tenant: 'acme', dedupKey: 'capacity:tenant.acme.daily:80' },
    ];
    expect(untrackedLimitAlerts(firing, new Set(['disk'])).map((a) => [a.dedupKey, a.status])).toEqual([
      ['capacity:limit.acme.seats:utilisation', 'resolved'],
      ['capacity:limit.acme.seats:forecast', 'resolved'],
    ]);
    expect(untrackedLimitAlerts(firing, new Set(['disk', 'limit.acme.seats']))).toEqual([]);
  });
});

/** The rate quota admits everything here: only the daily quota is under test. */
const open: QuotaGate = { precheck: () => undefined, take: () => undefined, refund: () => undefined };

describe('two ingest instances share one daily quota in PostgreSQL', () => {
  let ts: TestStore;
  const clock = new FakeClock('2026-04-01T10:00:00Z');
  const tenant: Tenant = { id: 'shared', createdAt: 0, eventsPerSecond: null, burst: null, paused: false };
  const gates: DailyQuotaGate[] = [];

  beforeAll(async () => {
    ts = await openTestStore('postgres');
    await new DailyQuotaService(ts.store).set('shared', 100_000, clock.now());
  });
  afterAll(async () => {
    for (const g of gates) await g.close();
    await ts?.close();
  });

  async function drain(g: DailyQuotaGate, n: number): Promise<number> {
    let admitted = 0;
    for (;;) {
      try {
        await g.precheck(tenant);
        await g.take(tenant, n);
        admitted += n;
      } catch (e) {
        expect(e).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('daily volume quota of 100000 events/day') });
        return admitted;
      }
    }
  }

  it('admits at most the quota in all, and at least the quota less one lease per instance', async () => {
    // Each instance has its own service and pool, as two processes would.
    for (let i = 0; i < 2; i++) gates.push(new DailyQuotaGate(open, { service: new DailyQuotaService(ts.store), clock, logger: createLogger('silent') }));
    // Concurrent requests of 37 events (not a divisor of the quota or the lease of 500).
    const admitted = await Promise.all([drain(gates[0]!, 37), drain(gates[0]!, 37), drain(gates[1]!, 37), drain(gates[1]!, 37)]);
    const sum = admitted.reduce((a, b) => a + b, 0);
    expect(sum).toBeLessThanOrEqual(100_000);
    // Documented margin: up to one lease (1/200 of the quota = 500) per instance may sit unused.
    expect(sum).toBeGreaterThanOrEqual(100_000 - 2 * 500);
    expect(admitted.every((a) => a > 0)).toBe(true);
    // The next UTC day starts from zero.
    clock.set('2026-04-02T00:00:01Z');
    await gates[0]!.take(tenant, 1_000);
  });
});

describe('daily quota end to end (embedded)', () => {
  let t: TestKeel;
  let ingest: string;
  let reader: string;
  beforeAll(async () => {
    t = await startTestKeel({ capacity: { sampleInterval: '300ms' } });
    const k = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['ingest'] } });
    ingest = k.body.key;
    reader = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['read'] } })).body.key;
  });
  afterAll(async () => t?.close());

  const send = (n: number) =>
    http(`${t.url}/v1/events`, { method: 'POST', key: ingest, body: ndjson(Array.from({ length: n }, (_, i) => ({ i }))), headers: { 'content-type': 'application/x-ndjson' } });

  async function alertStatus(dedupKey: string, key = reader): Promise<string | undefined> {
    const r = await http(`${t.url}/v1/paging/alerts?limit=200`, { key });
    return r.body.alerts?.find((a: any) => a.dedup_key === dedupKey)?.status;
  }

  async function waitAlert(dedupKey: string, status = 'firing', key = reader): Promise<void> {
    const deadline = Date.now() + 20_000;
    while ((await alertStatus(dedupKey, key)) !== status) {
      if (Date.now() > deadline) throw new Error(`alert ${dedupKey} never became ${status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('sets the quota (API and CLI), refuses with a 429 naming it, and notices 80 % and 100 %', async () => {
    const set = await keel(['capacity', 'quota', 'set', 'acme', '--events-per-day', '100', '--json'], { url: t.url, key: t.adminKey });
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ tenant: 'acme', eventsPerDay: 100, usedToday: 0, remaining: 100 });
    expect((await send(60)).status).toBe(202);
    expect((await send(25)).status).toBe(202);
    await waitAlert('capacity:tenant.acme.daily:80');
    expect(await alertStatus('capacity:tenant.acme.daily:100')).toBeUndefined();
    const over = await send(20);
    expect(over.status).toBe(429);
    expect(over.body.error.message).toContain('tenant "acme" is over its daily volume quota of 100 events/day');
    expect(over.body.error.message).toContain('this request has 20');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await send(15)).status).toBe(202);
    await waitAlert('capacity:tenant.acme.daily:100');
    expect((await send(1)).status).toBe(429);
    const show = await http(`${t.url}/v1/capacity/quotas/acme`, { key: t.adminKey });
    expect(show.body).toMatchObject({ eventsPerDay: 100, usedToday: 100, remaining: 0, utilisation: 1 });
    // Raised: admitted again at once on this instance.
    expect((await http(`${t.url}/v1/capacity/quotas/acme`, { method: 'PUT', key: t.adminKey, json: { eventsPerDay: 1000 } })).status).toBe(200);
    expect((await send(1)).status).toBe(202);
    // Removed.
    const none = await keel(['capacity', 'quota', 'set', 'acme', '--none'], { url: t.url, key: t.adminKey });
    expect(none.stdout).toContain('no daily volume quota');
    expect((await send(500)).status).toBe(202);
  });

  it('resolves the notices of a quota that is removed', async () => {
    const key = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'beta', scopes: ['ingest'] } })).body.key;
    const betaReader = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'beta', scopes: ['read'] } })).body.key;
    expect((await http(`${t.url}/v1/capacity/quotas/beta`, { method: 'PUT', key: t.adminKey, json: { eventsPerDay: 10 } })).status).toBe(200);
    const sent = await http(`${t.url}/v1/events`, { method: 'POST', key, body: ndjson(Array.from({ length: 10 }, (_, i) => ({ i }))), headers: { 'content-type': 'application/x-ndjson' } });
    expect(sent.status).toBe(202);
    await waitAlert('capacity:tenant.beta.daily:80', 'firing', betaReader);
    await waitAlert('capacity:tenant.beta.daily:100', 'firing', betaReader);
    const none = await keel(['capacity', 'quota', 'set', 'beta', '--none'], { url: t.url, key: t.adminKey });
    expect(none.code).toBe(0);
    await waitAlert('capacity:tenant.beta.daily:80', 'resolved', betaReader);
    await waitAlert('capacity:tenant.beta.daily:100', 'resolved', betaReader);
  });

  it('refuses nonsense quotas with the field, and non-system admins', async () => {
    for (const [body, message] of [
      [{ eventsPerDay: 0 }, 'eventsPerDay'],
      [{ eventsPerDay: -5 }, 'eventsPerDay'],
      [{ eventsPerDay: 1.5 }, 'eventsPerDay'],
      [{ eventsPerDay: 1e16 }, 'eventsPerDay'],
      [{ eventsPerDay: '10' }, 'eventsPerDay'],
      [{ eventsPerDay: 10, extra: 1 }, 'extra'],
    ] as const) {
      const r = await http(`${t.url}/v1/capacity/quotas/acme`, { method: 'PUT', key: t.adminKey, json: body });
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expect(JSON.stringify(r.body.error)).toContain(message);
    }
    expect((await http(`${t.url}/v1/capacity/quotas/nobody`, { method: 'PUT', key: t.adminKey, json: { eventsPerDay: 5 } })).status).toBe(404);
    const acmeAdmin = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'] } })).body.key;
    expect((await http(`${t.url}/v1/capacity/quotas/acme`, { method: 'PUT', key: acmeAdmin, json: { eventsPerDay: 5 } })).status).toBe(403);
    expect((await http(`${t.url}/v1/capacity/quotas/acme`, { key: acmeAdmin })).status).toBe(200);
    const bad = await keel(['capacity', 'quota', 'set', 'acme', '--events-per-day', 'lots'], { url: t.url, key: t.adminKey });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--events-per-day: "lots" is not a number of events');
  });
});
