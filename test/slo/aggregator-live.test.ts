/**
 * The aggregator folds a batch with every generation at once (no per-generation question) only
 * past the position where every generation of the tenant counts live on that partition.
 */
import { describe, expect, it } from 'vitest';
import { latestLiveFrom } from '../../src/slo/aggregator.js';

describe('latestLiveFrom', () => {
  it('is per partition the latest live-from position, where every generation has one', () => {
    const a = new Map([
      [0, 10],
      [1, 4],
      [2, 7],
    ]);
    const b = new Map([
      [0, 3],
      [1, 9],
    ]);
    // Partition 2: b has no position there yet (its backfill has not claimed it), so no batch of
    // partition 2 is folded by every generation at once.
    expect(latestLiveFrom([a, b])).toEqual(
      new Map([
        [0, 10],
        [1, 9],
      ]),
    );
    expect(latestLiveFrom([a])).toEqual(a);
    expect(latestLiveFrom([])).toEqual(new Map());
    expect(latestLiveFrom([a, new Map()])).toEqual(new Map());
  });
});
