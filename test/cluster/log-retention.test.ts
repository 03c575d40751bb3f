/** Size retention of the distributed log: how far it may purge (pure). */
import { describe, expect, it } from 'vitest';
import { purgeFloor } from '../../src/cluster/log-retention.js';

describe('size retention of the distributed log', () => {
  const base = { firstSeq: 1, lastSeq: 100, messages: 100, bytes: 100_000, maxBytes: 60_000 };

  it('purges the oldest messages down to the limit when every consumer is past them', () => {
    expect(purgeFloor({ ...base, consumers: [{ position: 90, pending: true }] })).toBe(41);
    expect(purgeFloor({ ...base, consumers: [{ position: 5, pending: false }] })).toBe(41);
  });

  it('never purges what a consumer has not committed', () => {
    expect(
      purgeFloor({
        ...base,
        consumers: [
          { position: 20, pending: true },
          { position: 90, pending: true },
        ],
      }),
    ).toBe(21);
    expect(purgeFloor({ ...base, consumers: [{ position: 0, pending: true }] })).toBeUndefined();
  });

  it('does nothing under the limit or without one', () => {
    expect(purgeFloor({ ...base, maxBytes: 200_000, consumers: [] })).toBeUndefined();
    expect(purgeFloor({ ...base, maxBytes: 0, consumers: [] })).toBeUndefined();
  });
});
