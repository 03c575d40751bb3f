/** Recorded bench results on both engines: the latest of each mode, doubles and nulls kept. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BenchResultService, type BenchResult } from '../../src/capacity/bench-results.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

describe.each(['sqlite', 'postgres'] as const)('bench results on %s', (engine) => {
  let ts: TestStore;
  beforeEach(async () => {
    ts = await openTestStore(engine);
  });
  afterEach(async () => ts.close());

  const result = (mode: 'embedded' | 'distributed', recordedAt: number, eventsPerSecond: number, extra: Partial<BenchResult> = {}): BenchResult => ({
    mode,
    recordedAt,
    eventsPerSecond,
    ceilingEventsPerSecond: 1_234_567.5,
    cores: 2,
    loadAverage: 3.25,
    partitions: null,
    workerCpuMsPer1000: null,
    recordedBy: 'key:abc',
    ...extra,
  });

  it('answers nothing before a record, then the latest of each mode', async () => {
    const s = new BenchResultService(ts.store);
    expect(await s.latest()).toEqual({});
    await s.record(result('embedded', 1_000, 400_000.5));
    await s.record(result('embedded', 3_000, 350_000));
    await s.record(result('embedded', 2_000, 500_000));
    await s.record(result('distributed', 1_500, 150_000, { partitions: 8, workerCpuMsPer1000: 0.56 }));
    const latest = await s.latest();
    // The latest by time, not the largest nor the last written.
    expect(latest.embedded).toEqual(result('embedded', 3_000, 350_000));
    expect(latest.distributed).toEqual(result('distributed', 1_500, 150_000, { partitions: 8, workerCpuMsPer1000: 0.56 }));
  });
});
