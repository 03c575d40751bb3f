/**
 * When the compactor may start the next segment (src/log/sqlite/compaction-gate.ts): not while
 * Keel's own threads keep at least half the cores busy or wait for a CPU a quarter of the time,
 * unless the backlog passed its bound.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { compactionGate, cpuShare, cpuWait, CpuWindow, SATURATED_SHARE, SATURATED_WAIT, type CpuSample } from '../../src/log/sqlite/compaction-gate.js';

const GiB = 1024 ** 3;
/** Samples 1 s apart on `cores` cores, each second using `busy` of them and waiting `wait` thread-seconds. */
function samples(busy: number[], cores: number, wait = 0): CpuSample[] {
  const out: CpuSample[] = [{ at: 0, cpuMs: 0, waitMs: 0 }];
  for (const b of busy) {
    const prev = out[out.length - 1]!;
    out.push({ at: out.length * 1000, cpuMs: prev.cpuMs + b * cores * 1000, waitMs: prev.waitMs! + wait * 1000 });
  }
  return out;
}

describe('compaction gate', () => {
  it('measures the share of the cores between the oldest and the newest sample', () => {
    // 2 cores, 1.5 s of CPU per second for 4 s: 0.75.
    expect(cpuShare(samples([0.75, 0.75, 0.75, 0.75], 2), 2)).toBe(0.75);
    // 3 s of CPU over 2 s on 4 cores: 0.375, whatever happened between.
    expect(
      cpuShare(
        [
          { at: 10_000, cpuMs: 500 },
          { at: 11_000, cpuMs: 3_400 },
          { at: 12_000, cpuMs: 3_500 },
        ],
        4,
      ),
    ).toBe(0.375);
    expect(cpuShare([], 2)).toBeUndefined();
    expect(cpuShare([{ at: 5, cpuMs: 1 }], 2)).toBeUndefined();
    expect(
      cpuShare(
        [
          { at: 5, cpuMs: 1 },
          { at: 5, cpuMs: 9 },
        ],
        2,
      ),
    ).toBeUndefined();
  });

  it('waits while Keel uses half the cores or more, runs below', () => {
    const base = { cores: 2, uncompactedBytes: 2 * GiB, maxBacklogBytes: 4 * GiB };
    expect(SATURATED_SHARE).toBe(0.5);
    // The share told is the larger of the window's (0.925) and its last second's (0.95).
    expect(compactionGate({ ...base, samples: samples([0.9, 0.95, 0.9, 0.95], 2) })).toEqual({ run: false, reason: 'saturated', share: 0.95, wait: 0 });
    expect(compactionGate({ ...base, samples: samples([0.5, 0.5], 2) })).toEqual({ run: false, reason: 'saturated', share: 0.5, wait: 0 });
    expect(compactionGate({ ...base, samples: samples([0.5, 0.25], 2) })).toEqual({ run: true, reason: 'idle', share: 0.375, wait: 0 });
    // A busy second inside a quiet window does not stop it ...
    expect(compactionGate({ ...base, samples: samples([0, 0, 1, 0, 0], 2) })).toEqual({ run: true, reason: 'idle', share: 0.2, wait: 0 });
    // ... but a busy last second does (a peak that just began), though the window's share is 0.2;
    expect(compactionGate({ ...base, samples: samples([0, 0, 0, 0, 1], 2) })).toEqual({ run: false, reason: 'saturated', share: 1, wait: 0 });
    // and a quiet last second in a busy window does not start it.
    expect(compactionGate({ ...base, samples: samples([1, 1, 1, 1, 0], 2) })).toEqual({ run: false, reason: 'saturated', share: 0.8, wait: 0 });
    expect(compactionGate({ ...base, samples: samples([0.3, 0.3], 2), saturatedShare: 0.25 })).toMatchObject({ run: false, reason: 'saturated' });
  });

  it('waits while Keel waits for a CPU a quarter of a thread or more, even using little of it (a node busy with other work)', () => {
    const base = { cores: 2, uncompactedBytes: 2 * GiB, maxBacklogBytes: 4 * GiB };
    expect(SATURATED_WAIT).toBe(0.25);
    expect(compactionGate({ ...base, samples: samples([0.2, 0.2, 0.2], 2, 1.5) })).toEqual({ run: false, reason: 'saturated', share: 0.2, wait: 1.5 });
    expect(compactionGate({ ...base, samples: samples([0.2, 0.2], 2, 0.25) })).toMatchObject({ run: false, wait: 0.25 });
    expect(compactionGate({ ...base, samples: samples([0.2, 0.2], 2, 0.2) })).toEqual({ run: true, reason: 'idle', share: 0.2, wait: 0.2 });
    // Waiting that just began counts as much: 0.1 over the window, 0.5 in its last second.
    const waitNow = samples([0.2, 0.2, 0.2, 0.2], 2);
    waitNow[4]!.waitMs = 500;
    expect(compactionGate({ ...base, samples: waitNow })).toEqual({ run: false, reason: 'saturated', share: 0.2, wait: 0.5 });
    // 900 ms of waiting over 3 s: 0.3.
    expect(
      cpuWait([
        { at: 0, cpuMs: 0, waitMs: 100 },
        { at: 3000, cpuMs: 0, waitMs: 1000 },
      ]),
    ).toBeCloseTo(0.3, 12);
    // Where the system does not tell waiting (not Linux), only the share decides.
    expect(
      cpuWait([
        { at: 0, cpuMs: 0 },
        { at: 1000, cpuMs: 0 },
      ]),
    ).toBeUndefined();
    expect(
      compactionGate({
        ...base,
        samples: [
          { at: 0, cpuMs: 0 },
          { at: 1000, cpuMs: 200 },
        ],
      }),
    ).toEqual({ run: true, reason: 'idle', share: 0.1, wait: undefined });
  });

  it('runs whatever the load once the backlog is over its bound, and always with a bound of 0', () => {
    const busy = samples([1, 1, 1], 2);
    expect(compactionGate({ samples: busy, cores: 2, uncompactedBytes: 4 * GiB, maxBacklogBytes: 4 * GiB })).toMatchObject({ run: false });
    expect(compactionGate({ samples: busy, cores: 2, uncompactedBytes: 4 * GiB + 1, maxBacklogBytes: 4 * GiB })).toEqual({ run: true, reason: 'backlog', share: 1, wait: 0 });
    expect(compactionGate({ samples: busy, cores: 2, uncompactedBytes: 1, maxBacklogBytes: 0 })).toEqual({ run: true, reason: 'backlog', share: 1, wait: 0 });
  });

  it('runs while nothing is measured yet (just started)', () => {
    expect(compactionGate({ samples: [], cores: 2, uncompactedBytes: 10, maxBacklogBytes: 100 })).toEqual({ run: true, reason: 'unmeasured', share: undefined, wait: undefined });
    expect(compactionGate({ samples: [{ at: 0, cpuMs: 0, waitMs: 0 }], cores: 2, uncompactedBytes: 10, maxBacklogBytes: 100 })).toEqual({
      run: true,
      reason: 'unmeasured',
      share: undefined,
      wait: undefined,
    });
  });

  it('keeps the samples of the window, and one at or before its start', () => {
    const w = new CpuWindow(3000);
    for (let s = 0; s <= 6; s++) w.add({ at: s * 1000, cpuMs: s * 10 });
    expect(w.all.map((s) => s.at)).toEqual([3000, 4000, 5000, 6000]);
    w.add({ at: 6500, cpuMs: 70 });
    expect(w.all.map((s) => s.at)).toEqual([3000, 4000, 5000, 6000, 6500]);
    w.add({ at: 20_000, cpuMs: 80 });
    // After a long gap, the newest and the one before it: still two samples to measure between.
    expect(w.all.map((s) => s.at)).toEqual([6500, 20_000]);
  });
});

describe('log.compactionMaxBacklog', () => {
  const load = (v: unknown, more: Record<string, unknown> = {}) => loadConfig({ env: {}, overrides: { 'log.compactionMaxBacklog': v, ...more } }).log.compactionMaxBacklog;

  it('is 4 GiB by default (half of log.maxBytes when that is smaller), a size, and 0 for never waiting', () => {
    expect(loadConfig({ env: {} }).log.compactionMaxBacklog).toBe(4 * GiB);
    expect(loadConfig({ env: {}, overrides: { 'log.maxBytes': '1GiB' } }).log.compactionMaxBacklog).toBe(GiB / 2);
    expect(loadConfig({ env: {}, overrides: { 'log.maxBytes': 0 } }).log.compactionMaxBacklog).toBe(4 * GiB);
    expect(load('512MiB')).toBe(512 * 1024 ** 2);
    expect(load(0)).toBe(0);
  });

  it('refuses what is not a size, and a bound the log never reaches (log.maxBytes stops appends first)', () => {
    expect(() => load('lots')).toThrow('invalid configuration: log.compactionMaxBacklog: "lots" is not a size (e.g. 64KiB, 5MiB, 10GB)');
    expect(() => load('60GiB')).toThrow(
      'invalid configuration: log.compactionMaxBacklog: 64424509440 bytes must be below log.maxBytes (64424509440): a backlog that large is never reached, so a busy node would never compact',
    );
    expect(() => load('2GiB', { 'log.maxBytes': '1GiB' })).toThrow('log.compactionMaxBacklog: 2147483648 bytes must be below log.maxBytes (1073741824)');
    // Without a log size limit any bound can be reached.
    expect(load('100GiB', { 'log.maxBytes': 0 })).toBe(100 * GiB);
  });
});
