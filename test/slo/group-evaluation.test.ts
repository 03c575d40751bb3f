/**
 * The evaluator reads the counters of a group of SLOs (up to 100) together and asks the alert
 * pipeline once per group which alerts still fire. Evaluating 105 SLOs of seven shapes in one call
 * (two groups, two lists of windows) must give, on both stores, the states and alerts written here
 * by hand, and exactly what evaluating each SLO alone gives (each SLO is in a tenant of its own,
 * so `evaluateAll(fence, tenant)` evaluates it alone).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerting/alert-service.js';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import { defaultPolicy } from '../../src/slo/default-policy.js';
import { SloEvaluator } from '../../src/slo/evaluator.js';
import { SloMetrics } from '../../src/slo/metrics.js';
import type { ResolvedSlo } from '../../src/slo/model.js';
import { DAY, HOUR, MINUTE } from '../../src/slo/windows.js';
import type { StoreEngine } from '../../src/store/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { openTestStore, TEST_ENGINES, type TestStore } from '../helpers/stores.js';

/** 12:00:05: every window ends at 12:00:00. */
const NOW = Date.UTC(2026, 0, 10, 12, 0, 5);
const END = Date.UTC(2026, 0, 10, 12, 0, 0);

interface Shape {
  name: string;
  windowDays: number;
  targets: number[];
  /** Counted events (the same for every objective), at one time before END; none when absent. */
  events?: { ago: number; total: number; bad: number };
  /** Alert key → status after the first evaluation, worked out by hand (default policy, at least 10 bad events). */
  expected: Record<string, 'firing' | 'resolved'>;
}

const resolved = (o: number) => ({ [`${o}/default/page`]: 'resolved', [`${o}/default/ticket`]: 'resolved', [`${o}/default/nodata`]: 'resolved' }) as const;

const SHAPES: Shape[] = [
  // 200 bad of 1,000 against a 1 % budget: burn rate 20 in every window (the events are a minute
  // old), over 14.4 (page) and 3 (ticket).
  { name: 'fast', windowDays: 30, targets: [0.99], events: { ago: MINUTE, total: 1000, bad: 200 }, expected: { ...resolved(0), '0/default/page': 'firing', '0/default/ticket': 'firing' } },
  // 40 of 1,000: burn rate 4, under 6 and 14.4 (no page), over 3 and 1 (ticket).
  { name: 'slow', windowDays: 30, targets: [0.99], events: { ago: MINUTE, total: 1000, bad: 40 }, expected: { ...resolved(0), '0/default/ticket': 'firing' } },
  // 5 of 1,000: burn rate 0.5, and fewer than 10 bad events anyway.
  { name: 'healthy', windowDays: 30, targets: [0.99], events: { ago: MINUTE, total: 1000, bad: 5 }, expected: resolved(0) },
  // Events two hours ago and none in the last hour (the page windows' longest is 1 h): no data.
  { name: 'stopped', windowDays: 30, targets: [0.99], events: { ago: 2 * HOUR, total: 1000, bad: 0 }, expected: { ...resolved(0), '0/default/nodata': 'firing' } },
  // Never counted (no series): nothing fires, not even no data (the SLO window has no events).
  { name: 'never', windowDays: 30, targets: [0.99], expected: resolved(0) },
  // 20 of 1,000 against 1 % (burn 2: only the 3-day ticket, over 1) and against 0.1 % (burn 20: page and ticket).
  {
    name: 'two',
    windowDays: 30,
    targets: [0.99, 0.999],
    events: { ago: MINUTE, total: 1000, bad: 20 },
    expected: { ...resolved(0), ...resolved(1), '0/default/ticket': 'firing', '1/default/page': 'firing', '1/default/ticket': 'firing' },
  },
  // A 7-day window: the default policy's windows scaled by 7/30 (1 h → 14 min, 5 min → 1 min), so
  // another list of windows is read; burn rate 20 as for `fast`.
  { name: 'week', windowDays: 7, targets: [0.99], events: { ago: MINUTE, total: 1000, bad: 200 }, expected: { ...resolved(0), '0/default/page': 'firing', '0/default/ticket': 'firing' } },
];
const COPIES = 15;
const SLOS = SHAPES.flatMap((shape) => Array.from({ length: COPIES }, (_, i) => ({ shape, tenant: `t-${shape.name}-${i}` })));

function plan(shape: Shape): ResolvedSlo {
  const ms = shape.windowDays * DAY;
  return {
    name: shape.name,
    service: 'checkout',
    indicator: { kind: 'ratio', name: `${shape.name}-sli`, total: 'true', good: 'status < 500' },
    window: { rolling: true, ms, text: `${shape.windowDays}d` },
    method: 'Occurrences',
    objectives: shape.targets.map((target, o) => ({ name: `objective-${o}`, target })),
    breakdown: [],
    policies: [defaultPolicy(ms)],
  };
}

/**
 * Every SLO's generation, series and counters, written as the aggregator writes them (every
 * resolution), and one SLO that cannot be evaluated (its calendar's time zone is unknown): it is
 * left out, the others of its group are not.
 */
async function seed(t: TestStore): Promise<void> {
  const db = t.store.db;
  const broken = { ...plan(SHAPES[0]!), name: 'broken', window: { rolling: false, amount: 1, unit: 'M', startTime: '2026-01-01', timeZone: 'Nowhere/Atlantis', text: '1M' } };
  await db
    .insertInto('slo_generations')
    .values({
      uid: 'broken-gen',
      tenant_id: 't-fast-1',
      slo_name: 'broken',
      fingerprint: 'broken',
      plan_json: JSON.stringify(broken),
      status: 'ready',
      current: 1,
      created_at: 0,
      backfill_started_at: 0,
      backfill_finished_at: 0,
      backfill_events: 0,
      retired_at: null,
    })
    .execute();
  for (const { shape, tenant } of SLOS) {
    const uid = `${tenant}-gen`;
    await db
      .insertInto('slo_generations')
      .values({
        uid,
        tenant_id: tenant,
        slo_name: shape.name,
        fingerprint: uid,
        plan_json: JSON.stringify(plan(shape)),
        status: 'ready',
        current: 1,
        created_at: 0,
        backfill_started_at: 0,
        backfill_finished_at: 0,
        backfill_events: 0,
        retired_at: null,
      })
      .execute();
    if (shape.events) await count(t, uid, shape.targets.length, shape.events);
  }
}

/** A generation's first events: its overall series (one per objective) and their counters at every resolution. */
async function count(t: TestStore, uid: string, objectives: number, events: NonNullable<Shape['events']>): Promise<void> {
  const at = END - events.ago;
  for (let o = 0; o < objectives; o++) {
    const series = await t.store.db.insertInto('slo_series').values({ gen_uid: uid, objective: o, breakdown: '' }).returning('id').executeTakeFirstOrThrow();
    await t.store.db
      .insertInto('slo_counts')
      .values([10, 60, 3600, 86400].map((res) => ({ series_id: Number(series.id), res, bucket: Math.floor(at / (res * 1000)) * res * 1000, good: events.total - events.bad, total: events.total })))
      .execute();
  }
}

function evaluator(t: TestStore, clock: FakeClock) {
  const alerts = new AlertService(t.store, clock, new Bus());
  const slo = new SloEvaluator({ db: t.store.db, alerts, clock, logger: createLogger('silent'), metrics: new SloMetrics(new KeelMetrics()), minBadEvents: 10 });
  return { alerts, slo };
}

/** What a user sees: every alert state, alert and transition, without generated ids. */
async function seen(t: TestStore) {
  const db = t.store.db;
  const states = await db.selectFrom('slo_alert_state').selectAll().orderBy('tenant_id').orderBy('alert_key').execute();
  const alerts = await db
    .selectFrom('alerts')
    .select(['tenant_id', 'dedup_key', 'status', 'severity', 'summary', 'labels_json', 'details_json', 'first_seen', 'last_seen', 'resolved_at'])
    .orderBy('tenant_id')
    .orderBy('dedup_key')
    .orderBy('first_seen')
    .orderBy('status')
    .execute();
  const history = await db
    .selectFrom('slo_alert_history')
    .select(['tenant_id', 'slo_name', 'alert_key', 'status', 'at', 'values_json'])
    .orderBy('tenant_id')
    .orderBy('alert_key')
    .orderBy('at')
    .execute();
  const norm = <T extends Record<string, unknown>>(rows: T[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v])));
  return { states: norm(states), alerts: norm(alerts), history: norm(history) };
}

describe.each(TEST_ENGINES)('evaluating a group of SLOs together (%s)', (engine: StoreEngine) => {
  let together: TestStore;
  let alone: TestStore;
  // One evaluator per store for both ticks, as the leader keeps its own (with what it caches between ticks).
  const clock = new FakeClock(NOW);
  let all: ReturnType<typeof evaluator>;
  let one: ReturnType<typeof evaluator>;
  beforeAll(async () => {
    together = await openTestStore(engine);
    alone = await openTestStore(engine);
    await seed(together);
    await seed(alone);
    all = evaluator(together, clock);
    one = evaluator(alone, clock);
  });
  afterAll(async () => {
    await together?.close();
    await alone?.close();
  });

  it('gives the states and alerts worked out by hand, and those of evaluating each SLO alone', async () => {
    expect(await all.slo.evaluateAll()).toEqual({ evaluated: 105, transitions: 15 * (2 + 1 + 1 + 3 + 2) });
    for (const { tenant } of SLOS) expect((await one.slo.evaluateAll(undefined, tenant)).evaluated).toBe(1);

    const got = await seen(together);
    for (const { shape, tenant } of SLOS) {
      const states = got.states.filter((s) => s.tenant_id === tenant);
      expect(Object.fromEntries(states.map((s) => [s.alert_key, s.status])), tenant).toEqual(shape.expected);
      for (const s of states) expect(s.since).toBe(NOW);
    }
    // The alerts opened: one per firing state, named by SLO (and objective when there are two), policy and severity.
    const firing = (tenant: string) => got.alerts.filter((a) => a.tenant_id === tenant && a.status === 'firing').map((a) => a.dedup_key);
    expect(firing('t-fast-3')).toEqual(['slo/fast/default/page', 'slo/fast/default/ticket']);
    expect(firing('t-slow-0')).toEqual(['slo/slow/default/ticket']);
    expect(firing('t-healthy-14')).toEqual([]);
    expect(firing('t-stopped-7')).toEqual(['slo/stopped/default/nodata']);
    expect(firing('t-never-1')).toEqual([]);
    expect(firing('t-two-9')).toEqual(['slo/two#0/default/ticket', 'slo/two#1/default/page', 'slo/two#1/default/ticket']);
    expect(firing('t-week-14')).toEqual(['slo/week/default/page', 'slo/week/default/ticket']);
    expect(got).toEqual(await seen(alone));
  });

  it('fires again, in every SLO of the group, an alert resolved elsewhere while it still burns; the others keep their since', async () => {
    clock.set(NOW + 30_000);
    // One SLO never counted before is counted now (200 bad of 1,000: page and ticket), though its
    // evaluator found no series for it last time.
    for (const t of [together, alone]) await count(t, 't-never-0-gen', 1, { ago: MINUTE, total: 1000, bad: 200 });
    // Someone resolves each `fast` SLO's page alert (with its incident, by hand).
    for (const t of [together, alone]) {
      const pages = await t.store.db.selectFrom('alerts').select('id').where('dedup_key', '=', 'slo/fast/default/page').where('status', '=', 'firing').execute();
      expect(pages).toHaveLength(COPIES);
      const alerts = new AlertService(t.store, clock, new Bus());
      await t.store.db.transaction().execute((trx) =>
        alerts.resolveIn(
          trx,
          pages.map((p) => p.id),
          NOW + 10_000,
          {},
        ),
      );
    }
    expect(await all.slo.evaluateAll()).toEqual({ evaluated: 105, transitions: COPIES + 2 });
    for (const { tenant } of SLOS) await one.slo.evaluateAll(undefined, tenant);

    const got = await seen(together);
    const fast = got.alerts.filter((a) => a.tenant_id === 't-fast-0' && a.dedup_key === 'slo/fast/default/page');
    expect(fast.map((a) => [a.status, a.first_seen])).toEqual([
      ['resolved', NOW],
      ['firing', NOW + 30_000],
    ]);
    const state = (tenant: string, key: string) => got.states.find((s) => s.tenant_id === tenant && s.alert_key === key)!;
    expect([state('t-fast-0', '0/default/page').status, state('t-fast-0', '0/default/page').since]).toEqual(['firing', NOW + 30_000]);
    expect([state('t-fast-0', '0/default/ticket').status, state('t-fast-0', '0/default/ticket').since]).toEqual(['firing', NOW]);
    expect([state('t-week-2', '0/default/page').status, state('t-week-2', '0/default/page').since]).toEqual(['firing', NOW]);
    expect(got.alerts.filter((a) => a.tenant_id === 't-never-0' && a.status === 'firing').map((a) => a.dedup_key)).toEqual(['slo/never/default/page', 'slo/never/default/ticket']);
    expect(got).toEqual(await seen(alone));
  });
});
