/**
 * Several workers (one SLO aggregator each, as in the distributed mode) folding batches of their
 * own partitions into the same SLOs' counters on PostgreSQL at the same time: every transaction
 * commits the first time (no `deadlock detected`, which the runner would log at error level and
 * retry), and the counts are exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import { prng } from '../../src/bench/events.js';
import { DefinitionsService } from '../../src/definitions/definitions-service.js';
import { KindRegistry } from '../../src/definitions/kinds.js';
import type { EventLog, LogBatch } from '../../src/log/event-log.js';
import { writePosition } from '../../src/processing/positions.js';
import { serviceKind } from '../../src/services/service-kind.js';
import { SloAggregator } from '../../src/slo/aggregator.js';
import { Backfiller } from '../../src/slo/backfill.js';
import { sloKinds } from '../../src/slo/kinds.js';
import { SloMetrics } from '../../src/slo/metrics.js';
import { SloStatusService } from '../../src/slo/status.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { ndjson } from '../helpers/keel.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';
import { SERVICE, ratioSlo } from './fixtures.js';

const WORKERS = 4;
const ROUNDS = 8;
const PER_BATCH = 400;
const T0 = Date.parse('2026-07-01T12:00:00Z');
const clock = new FakeClock(T0);
const rnd = prng(1916);
let ts: TestStore;

/** An empty log of WORKERS partitions: the backfill claims position 0 everywhere and is done. */
const emptyLog = { partitions: WORKERS, readTenant: async () => [] } as unknown as EventLog;

interface Ev {
  ts: string;
  service: string;
  status: number;
  region: string;
  route: string;
}
const all: Ev[] = [];
/** A batch of events spread over the last 20 minutes, in random order, so every worker writes the same rows in its own order. */
function batch(partition: number, position: number): LogBatch {
  const list: Ev[] = Array.from({ length: PER_BATCH }, () => ({
    ts: new Date(T0 - Math.floor(rnd() * 1_200_000)).toISOString(),
    service: 'checkout',
    status: rnd() < 0.1 ? 503 : 200,
    region: `r${Math.floor(rnd() * 8)}`,
    route: `/p${Math.floor(rnd() * 5)}`,
  }));
  all.push(...list);
  const times = list.map((e) => Date.parse(e.ts));
  return { partition, position, tenant: 'acme', receivedAt: T0, count: list.length, minTs: Math.min(...times), maxTs: Math.max(...times), data: Buffer.from(ndjson(list)) };
}

beforeAll(async () => {
  ts = await openTestStore('postgres');
});
afterAll(async () => ts?.close());

describe('SLO workers on PostgreSQL', () => {
  it('write the same SLOs’ counters concurrently without a deadlock, and count exactly', async () => {
    const logger = createLogger('silent');
    const metrics = new SloMetrics(new KeelMetrics());
    const kinds = new KindRegistry();
    kinds.register(serviceKind());
    for (const k of sloKinds(clock)) kinds.register(k);
    const defs = new DefinitionsService(ts.store, kinds, clock, new Bus());
    const slos = [
      ratioSlo('by-region-route', { breakdown: ['region', 'route'] }),
      ratioSlo('by-route', { breakdown: ['route'] }),
      ratioSlo('overall'),
      ratioSlo('sliced', { method: 'RatioTimeslices', breakdown: ['region'], objectives: '    - target: 0.8\n      timeSliceWindow: 1m\n' }),
    ];
    await defs.apply('acme', [{ file: 'slos.yaml', content: [SERVICE, ...slos].join('---\n') }], 'test');
    const backfiller = new Backfiller({ db: ts.store.db, log: emptyLog, clock, logger, metrics, maxBreakdownValues: 100 });
    while (await backfiller.step()) {
      // claims position 0 on every partition; nothing to read
    }
    const failures: string[] = [];
    const worker = async (partition: number) => {
      const aggregator = new SloAggregator({ metrics, maxBreakdownValues: 100, logger, clock });
      for (let round = 1; round <= ROUNDS; round++) {
        const list = [batch(partition, 2 * round - 1), batch(partition, 2 * round)];
        // The runner retries a failed transaction; a failure here is what it would log at error level.
        for (;;) {
          try {
            const prepared = await aggregator.prepare(list);
            await ts.store.db.transaction().execute(async (trx) => {
              await aggregator.process(trx, list, prepared);
              await writePosition(trx, 'slo', partition, list[1]!.position, clock.now());
            });
            aggregator.afterCommit();
            break;
          } catch (err) {
            failures.push(`worker ${partition} round ${round}: ${(err as Error).message}`);
            if (failures.length >= 10) throw new Error(failures.join('\n'));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, p) => worker(p)));
    expect(failures).toEqual([]);
    const status = new SloStatusService(ts.store.db, clock);
    const bad = all.filter((e) => e.status >= 500).length;
    for (const name of ['by-region-route', 'by-route', 'overall', 'sliced']) {
      const s = await status.status('acme', name);
      expect(s.objectives[0]!.events, name).toEqual({ good: all.length - bad, bad, total: all.length });
    }
    expect(all.length).toBe(WORKERS * ROUNDS * 2 * PER_BATCH);
  });
});
