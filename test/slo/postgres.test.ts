/**
 * The SLO engine's SQL on PostgreSQL (the distributed mode's store): migrations, definitions sync,
 * live aggregation and backfill handing over at the claimed position, slices, window sums, status,
 * the evaluator with the alert pipeline, and pruning, in a throwaway schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerting/alert-service.js';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import { DefinitionsService } from '../../src/definitions/definitions-service.js';
import { KindRegistry } from '../../src/definitions/kinds.js';
import type { EventLog, LogBatch, TenantReadOptions } from '../../src/log/event-log.js';
import { writePosition } from '../../src/processing/positions.js';
import { serviceKind } from '../../src/services/service-kind.js';
import { SloAggregator } from '../../src/slo/aggregator.js';
import { Backfiller } from '../../src/slo/backfill.js';
import { SloEvaluator } from '../../src/slo/evaluator.js';
import { sloKinds } from '../../src/slo/kinds.js';
import { pruneSlo } from '../../src/slo/maintenance.js';
import { SloMetrics } from '../../src/slo/metrics.js';
import { SloStatusService } from '../../src/slo/status.js';
import type { Store } from '../../src/store/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { ndjson } from '../helpers/keel.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';
import { SERVICE, ratioSlo } from './fixtures.js';

const T0 = Date.parse('2026-07-01T12:00:00Z');
const clock = new FakeClock(T0);
let ts: TestStore;
let store: Store;

/** An in-memory log with just what the backfill reads. */
function memoryLog(batches: LogBatch[]): EventLog {
  const unsupported = () => {
    throw new Error('not used by this test');
  };
  return {
    partitions: 1,
    readTenant: async (tenant: string, after: number, o: TenantReadOptions = {}) =>
      batches.filter((b) => b.tenant === tenant && b.position > after && b.maxTs >= (o.fromTs ?? -Infinity)).slice(0, o.maxBatches ?? 100),
    append: unsupported,
    findIdempotent: unsupported,
    read: unsupported,
    commit: unsupported,
    committed: unsupported,
    stats: unsupported,
    health: unsupported,
    close: unsupported,
  } as unknown as EventLog;
}

// Six batches of 500 events over the last 20 minutes; 1 in 10 fails.
const events = Array.from({ length: 3000 }, (_, i) => ({ ts: new Date(T0 - 1_200_000 + i * 400).toISOString(), service: 'checkout', status: i % 10 === 0 ? 503 : 200, region: i % 2 ? 'eu' : 'us' }));
const batches: LogBatch[] = Array.from({ length: 6 }, (_, k) => {
  const slice = events.slice(k * 500, k * 500 + 500);
  return { partition: 0, position: k + 1, tenant: 'acme', receivedAt: T0, count: 500, minTs: Date.parse(slice[0]!.ts), maxTs: Date.parse(slice[499]!.ts), data: Buffer.from(ndjson(slice)) };
});

beforeAll(async () => {
  // The distributed mode's own store (openPostgresStore) in a fresh schema, readiness check included.
  ts = await openTestStore('postgres');
  store = ts.store;
  await store.ping();
});
afterAll(async () => ts?.close());

describe('SLO engine on PostgreSQL', () => {
  it('counts live and backfilled batches exactly once and evaluates alerts', async () => {
    const logger = createLogger('silent');
    const metrics = new SloMetrics(new KeelMetrics());
    const bus = new Bus();
    const kinds = new KindRegistry();
    kinds.register(serviceKind());
    for (const k of sloKinds(clock)) kinds.register(k);
    const defs = new DefinitionsService(store, kinds, clock, bus);
    const aggregator = new SloAggregator({ metrics, maxBreakdownValues: 10, logger, clock });
    const runBatches = async (list: LogBatch[]) => {
      const prepared = await aggregator.prepare(list);
      await store.db.transaction().execute(async (trx) => {
        await aggregator.process(trx, list, prepared);
        await writePosition(trx, 'slo', 0, list[list.length - 1]!.position, clock.now());
      });
      aggregator.afterCommit();
    };
    // The aggregator has processed three batches before the SLO exists.
    await runBatches(batches.slice(0, 3));
    const slos = `${SERVICE}---\n${ratioSlo('checkout', { breakdown: ['region'] })}---\n${ratioSlo('sliced', { method: 'RatioTimeslices', objectives: '    - target: 0.8\n      timeSliceWindow: 5m\n' })}`;
    await defs.apply('acme', [{ file: 'slos.yaml', content: slos }], 'test');
    const backfiller = new Backfiller({ db: store.db, log: memoryLog(batches), clock, logger, metrics, maxBreakdownValues: 10 });
    // Live batches 4 and 5 arrive before the backfill claims; they are the backfill's then.
    await runBatches(batches.slice(3, 5));
    while (await backfiller.step()) {
      // until done
    }
    const parts = await store.db.selectFrom('slo_backfill_partitions').selectAll().execute();
    expect(parts.map((p) => Number(p.live_from))).toEqual([5, 5]);
    await runBatches(batches.slice(5));
    // The backfill counted batches 1-5 (up to its claim), the aggregator batch 6: each once.
    const status = new SloStatusService(store.db, clock);
    const s = await status.status('acme', 'checkout');
    const counted = events;
    expect(s.objectives[0]!.events).toEqual({ good: counted.filter((e) => e.status < 500).length, bad: counted.filter((e) => e.status >= 500).length, total: counted.length });
    // Every tenth event fails, all of them even, so all in region us (20 % bad against the SLO's 10 %).
    expect(s.objectives[0]!.topBreakdown!.map((t) => t.values.region)).toEqual(['us']);
    const sliced = await status.status('acme', 'sliced');
    expect(sliced.objectives[0]!.slices!.total).toBeGreaterThan(0);
    expect(sliced.objectives[0]!.sli).toBeCloseTo(0.9, 6);

    const alerts = new AlertService(store, clock, bus);
    const evaluator = new SloEvaluator({ db: store.db, alerts, clock, logger, metrics, minBadEvents: 10 });
    const r = await evaluator.evaluateAll();
    expect(r.evaluated).toBe(2);
    const transitions = await alerts.transitionsAfter(0);
    expect(transitions.map((t) => `${t.dedupKey} ${t.status}`)).toContain('slo/checkout/default/page firing');
    expect((await evaluator.evaluateAll()).transitions).toBe(0);
    await defs.remove('acme', 'SLO', 'checkout', 'test');
    await evaluator.evaluateAll();
    expect((await alerts.transitionsAfter(0)).filter((t) => t.status === 'resolved').map((t) => t.dedupKey)).toContain('slo/checkout/default/page');
    // A prune whose leader lease is gone (its fence refuses) deletes nothing.
    const seriesBefore = await store.db.selectFrom('slo_series').select('id').where('gen_uid', '=', s.generation).execute();
    expect(seriesBefore.length).toBeGreaterThan(0);
    const deposed = async () => {
      throw new Error('this process no longer leads slo-maintenance');
    };
    await expect(pruneSlo(store.db, clock.now(), deposed)).rejects.toThrow('no longer leads');
    expect(await store.db.selectFrom('slo_series').select('id').where('gen_uid', '=', s.generation).execute()).toEqual(seriesBefore);
    const pruned = await pruneSlo(store.db, clock.now());
    expect(pruned.retired).toBe(1);
    expect(await store.db.selectFrom('slo_series').select('id').where('gen_uid', '=', s.generation).execute()).toEqual([]);
  });
});
