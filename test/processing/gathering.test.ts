/**
 * What both processor runners share (src/processing/gathering.ts): `drain()` waits until every
 * partition's committed position reached what the log held when it was called, waking the
 * runner's loops between looks, and says which processor did not catch up in time; `ReadAgain`
 * is the error a processor throws to have its batches read again with their data.
 */
import { describe, expect, it } from 'vitest';
import type { EventLog, LogStats } from '../../src/log/event-log.js';
import { ReadAgain, drainPositions } from '../../src/processing/gathering.js';

/** The only part of a log `drainPositions` reads: the last position of each partition. */
function logEnding(lastPositions: number[]): { log: EventLog; reads: () => number } {
  let reads = 0;
  const log = {
    partitions: lastPositions.length,
    stats: async () => {
      reads++;
      return { lastPositions: [...lastPositions] } as unknown as LogStats;
    },
  } as unknown as EventLog;
  return { log, reads: () => reads };
}

describe('drainPositions', () => {
  it('resolves without waiting when every partition is exactly at the log’s end, an empty partition needing no position at all', async () => {
    const { log } = logEnding([7, 0, 3]);
    let polls = 0;
    // Partition 1 holds nothing and has never committed anything: it is caught up.
    await drainPositions(
      log,
      new Map([
        [0, 7],
        [2, 3],
      ]),
      'probe',
      1_000,
      5,
      () => polls++,
    );
    expect(polls).toBe(0);
  });

  it('waits for the partition that is behind even when the others are caught up, polling before each wait', async () => {
    const { log, reads } = logEnding([4, 9]);
    const positions = new Map([
      [0, 4],
      [1, 8],
    ]);
    let polls = 0;
    const started = Date.now();
    // The third poll commits the missing batch of partition 1.
    await drainPositions(log, positions, 'probe', 5_000, 20, () => {
      polls++;
      if (polls === 3) positions.set(1, 9);
    });
    expect(polls).toBe(3);
    // Three waits of 20 ms (timers may fire a millisecond early).
    expect(Date.now() - started).toBeGreaterThanOrEqual(57);
    expect(reads()).toBe(1);
  });

  it('waits only for what the log held when it was called', async () => {
    const ends = [5];
    const log = { partitions: 1, stats: async () => ({ lastPositions: [...ends] }) as unknown as LogStats } as unknown as EventLog;
    const positions = new Map([[0, 2]]);
    let polls = 0;
    await drainPositions(log, positions, 'probe', 5_000, 5, () => {
      polls++;
      // Appended after the call: not waited for.
      ends[0] = 50;
      if (polls === 2) positions.set(0, 5);
    });
    expect(polls).toBe(2);
    expect(positions.get(0)).toBe(5);
  });

  it('works without a poll (the subscribing runner’s loops need no waking)', async () => {
    const { log } = logEnding([2]);
    const positions = new Map([[0, 1]]);
    setTimeout(() => positions.set(0, 2), 30);
    await drainPositions(log, positions, 'probe', 5_000, 5);
    expect(positions.get(0)).toBe(2);
  });

  it('rejects with the processor’s name and the timeout once the time is up, not before', async () => {
    const { log } = logEnding([0, 6]);
    const started = Date.now();
    await expect(drainPositions(log, new Map([[1, 5]]), 'slo-counters', 120, 10)).rejects.toThrow(new Error('processor slo-counters did not catch up within 120 ms'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
  });
});

describe('ReadAgain', () => {
  it('says that the batches must be read again with their data', () => {
    const err = new ReadAgain();
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ReadAgain');
    expect(err.message).toBe('batches must be read again with their data');
  });
});
