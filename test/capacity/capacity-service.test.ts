/**
 * Capacity history on both stores: samples recorded at known times with a planted growth, the
 * ranked report and its forecast against the closed-form truth, the hourly roll-up and tenant scope.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitAlerts } from '../../src/capacity/capacity-alerts.js';
import { CapacityService, HOURLY, RAW } from '../../src/capacity/capacity-service.js';
import { loadConfig } from '../../src/core/config.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const H = 3_600_000;
const D = 24 * H;
const START = Date.parse('2026-03-02T00:00:00Z');

describe.each(['sqlite', 'postgres'] as const)('capacity history on %s', (engine) => {
  let ts: TestStore;
  let svc: CapacityService;
  const config = loadConfig({ env: {}, overrides: { dataDir: mkdtempSync(join(tmpdir(), 'keel-cap-')), 'capacity.rawRetention': '8d', 'capacity.hourlyRetention': '30d', 'capacity.history': '28d' } });

  beforeAll(async () => {
    ts = await openTestStore(engine);
    svc = new CapacityService(ts.store, config);
    // Every 10 minutes for 10 days: acme's peak rate grows 100 events/s per day from 1000
    // (quota 5000: reached after (5000 - 1000) / 100 = 40 days); beta is flat at 10 of 100;
    // the log is flat with no capacity (tracked, not forecast).
    for (let t = START; t <= START + 10 * D; t += 10 * 60_000) {
      const days = (t - START) / D;
      await svc.record(t, [
        { id: 'tenant.acme.rate', tenant: 'acme', usage: 1000 + 100 * days, capacity: 5000 },
        { id: 'tenant.beta.rate', tenant: 'beta', usage: 10, capacity: 100 },
        { id: 'postgres.size', tenant: '', usage: 5e6, capacity: null },
      ]);
    }
  });
  afterAll(async () => ts?.close());

  it('ranks by time to exhaustion and puts the true date inside the band', async () => {
    const now = START + 10 * D;
    const limits = await svc.report({}, { now, horizonMs: 60 * D });
    expect(limits.map((l) => l.id)).toEqual(['tenant.acme.rate', 'tenant.beta.rate', 'postgres.size']);
    const acme = limits[0]!;
    expect(acme.utilisation).toBeCloseTo(2000 / 5000, 9);
    expect(acme.exhaustion.status).toBe('forecast');
    const truth = START + 40 * D;
    expect(Date.parse(acme.exhaustion.earliest!)).toBeLessThanOrEqual(truth);
    expect(Date.parse(acme.exhaustion.latest!)).toBeGreaterThanOrEqual(truth);
    expect(acme.trendPerDay).toBeCloseTo(100, 3);
    expect(acme.peak.d1).toBeCloseTo(2000, 6);
    expect(acme.peak.h1).toBeCloseTo(2000, 6);
    expect(acme.exhaustion.secondsToExhaustion).toBeCloseTo((30 * D) / 1000, -2);
    expect(limits[1]!.exhaustion).toMatchObject({ status: 'not_before', notBefore: new Date(now + 60 * D).toISOString() });
    expect(limits[2]!.exhaustion).toMatchObject({ status: 'unknown', reason: 'no capacity is known for this limit' });
  });

  it('alerts: forecast to run out within the horizon, and at 80 % / 95 % now', async () => {
    const now = START + 10 * D;
    const [acme] = await svc.report({ tenant: 'acme' }, { now, horizonMs: 60 * D });
    expect(limitAlerts(acme!).map((a) => [a.tenant, a.dedupKey, a.status, a.severity])).toEqual([
      ['acme', 'capacity:tenant.acme.rate:utilisation', 'resolved', 'warning'],
      ['acme', 'capacity:tenant.acme.rate:forecast', 'firing', 'warning'],
    ]);
    // Within 14 days it is not forecast to run out (30 days away): nothing fires.
    const [later] = await svc.report({ tenant: 'acme' }, { now, horizonMs: 14 * D });
    expect(limitAlerts(later!).map((a) => a.status)).toEqual(['resolved', 'resolved']);
    const at = (u: number) => limitAlerts({ ...acme!, utilisation: u })[0]!;
    expect([at(0.79).status, at(0.8).status, at(0.8).severity, at(0.95).severity]).toEqual(['resolved', 'firing', 'warning', 'critical']);
    // Keel's own limits alert in the system tenant.
    expect(limitAlerts({ ...acme!, tenant: null })[0]!.tenant).toBe('default');
  });

  it('what-if growth and a planned launch move the date', async () => {
    const now = START + 10 * D;
    // Flat beta at 10 of 100 with 100 %/month: 10·2^m = 100 after log2(10) = 3.32 months.
    const [beta] = (await svc.report({ tenant: 'beta' }, { now, horizonMs: 365 * D, growthPerMonth: 1 })).filter((l) => l.id === 'tenant.beta.rate');
    const truth = now + Math.log2(10) * 30 * D;
    expect(Math.abs(Date.parse(beta!.exhaustion.at!) - truth)).toBeLessThan(H);
    // acme with a launch adding 100 % in 5 days: 2 × (1000 + 100·15) = 5000 on that day.
    const [acme] = await svc.report({ tenant: 'acme' }, { now, horizonMs: 60 * D, adjustments: [{ at: now + 5 * D, percent: 100 }] });
    expect(Math.abs(Date.parse(acme!.exhaustion.at!) - (now + 5 * D))).toBeLessThan(H);
  });

  it('a tenant sees only its own limits; an unknown limit is a 404 naming it', async () => {
    const now = START + 10 * D;
    expect((await svc.report({ tenant: 'beta' }, { now, horizonMs: 14 * D })).map((l) => l.id)).toEqual(['tenant.beta.rate']);
    await expect(svc.limit('tenant.acme.rate', { tenant: 'beta' }, { now, horizonMs: 14 * D })).rejects.toThrow('no tracked limit "tenant.acme.rate" in tenant "beta"');
  });

  it('forecasts over the configured history only (capacity.history)', async () => {
    const now = START + 10 * D;
    const short = new CapacityService(ts.store, loadConfig({ env: {}, overrides: { dataDir: config.dataDir, 'capacity.history': '2d' } }));
    const [acme] = await short.report({ tenant: 'acme' }, { now, horizonMs: 60 * D });
    // Two days of 10-minute samples, both ends kept: 2 × 144 + 1; the 28-day history holds all 10 days.
    expect(acme!.samples).toBe(2 * 144 + 1);
    expect((await svc.report({ tenant: 'acme' }, { now, horizonMs: 60 * D }))[0]!.samples).toBe(10 * 144 + 1);
    // The same growth of 100 a day is found from the shorter history.
    expect(acme!.trendPerDay).toBeCloseTo(100, 3);
  });

  it('rolls raw samples older than the raw retention into hourly peaks and drops expired hours', async () => {
    const now = START + 10 * D;
    const before = await ts.store.db
      .selectFrom('capacity_samples')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('limit_id', '=', 'tenant.acme.rate')
      .executeTakeFirstOrThrow();
    // 10 days every 10 minutes: 1441 samples.
    expect(Number(before.n)).toBe(1441);
    await svc.rollUp(now);
    const rows = await ts.store.db.selectFrom('capacity_samples').select(['res', 'at', 'usage']).where('limit_id', '=', 'tenant.acme.rate').orderBy('at').execute();
    const hourly = rows.filter((r) => Number(r.res) === HOURLY);
    const raw = rows.filter((r) => Number(r.res) === RAW);
    // Raw kept from now − 8 days = START + 2 days (an hour boundary): 8 days × 144 + 1.
    expect(raw.length).toBe(8 * 144 + 1);
    expect(Number(raw[0]!.at)).toBe(START + 2 * D);
    // Two days in hours, each with its peak: the hour's last sample (minute 50).
    expect(hourly.length).toBe(48);
    expect(Number(hourly[0]!.at)).toBe(START);
    expect(Number(hourly[0]!.usage)).toBeCloseTo(1000 + (100 * 50) / (24 * 60), 9);
    // A second pass changes nothing; hours beyond the hourly retention (30 d) would go.
    await svc.rollUp(now);
    expect((await ts.store.db.selectFrom('capacity_samples').select('at').where('limit_id', '=', 'tenant.acme.rate').execute()).length).toBe(rows.length);
    await svc.rollUp(START + 31 * D);
    const left = await ts.store.db.selectFrom('capacity_samples').select(['res', 'at']).where('limit_id', '=', 'tenant.acme.rate').where('res', '=', HOURLY).orderBy('at').execute();
    expect(Number(left[0]!.at)).toBeGreaterThanOrEqual(START + D);
  });
});
