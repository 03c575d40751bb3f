/** How workers share the distributed log's partitions (pure). */
import { describe, expect, it } from 'vitest';
import { balancePlan, fairShare } from '../../src/log/jetstream/partition-balance.js';

describe('sharing partitions among workers', () => {
  const keep = (xs: number[]) => xs;
  it('claims free partitions up to the fair share', () => {
    expect(balancePlan({ mine: [], free: [0, 1, 2, 3, 4, 5, 6, 7], partitions: 8, liveWorkers: 1, shuffle: keep })).toEqual({ claim: [0, 1, 2, 3, 4, 5, 6, 7], release: [] });
    expect(balancePlan({ mine: [0], free: [5, 6, 7], partitions: 8, liveWorkers: 3, shuffle: keep })).toEqual({ claim: [5, 6], release: [] });
    expect(fairShare(8, 3)).toBe(3);
    expect(fairShare(4, 0)).toBe(4);
  });

  it('gives back what it holds above the fair share when workers join', () => {
    expect(balancePlan({ mine: [0, 1, 2, 3, 4, 5, 6, 7], free: [], partitions: 8, liveWorkers: 2 })).toEqual({ claim: [], release: [7, 6, 5, 4] });
    expect(balancePlan({ mine: [2, 3], free: [], partitions: 4, liveWorkers: 2 })).toEqual({ claim: [], release: [] });
  });
});
