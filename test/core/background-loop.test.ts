/**
 * The one background loop (core/background-loop.ts) the SLO and paging workers run on: rounds
 * and their waits, wakes, failures with their count, and tenures that end on stop() or when their
 * leadership is lost, each keeping its own context.
 */
import { describe, expect, it } from 'vitest';
import { BackgroundLoop, type Tenure } from '../../src/core/background-loop.js';

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

describe('BackgroundLoop', () => {
  it('runs a round, waits what the round returned, and starts the next one at a wake', async () => {
    const seen: string[] = [];
    const loop = new BackgroundLoop<string>(
      async (t) => {
        seen.push(`${t.context}:${t.rounds}`);
        return 60_000;
      },
      () => 60_000,
    );
    const done = loop.run('fence-a');
    await tick();
    expect(seen).toEqual(['fence-a:0']);
    loop.wake();
    await tick();
    expect(seen).toEqual(['fence-a:0', 'fence-a:1']);
    await loop.stop();
    await done;
    expect(seen).toHaveLength(2);
  });

  it('keeps a wake that comes during a round: the wait after it is skipped', async () => {
    let rounds = 0;
    let release!: () => void;
    const loop = new BackgroundLoop(
      async () => {
        rounds++;
        if (rounds === 1) await new Promise<void>((r) => (release = r));
        return 60_000;
      },
      () => 60_000,
    );
    void loop.run(undefined);
    await tick();
    loop.wake();
    release();
    await tick();
    expect(rounds).toBe(2);
    await loop.stop();
  });

  it('reports failures with their count in a row, waits what onError says, and counts again from 1 after a round that returned', async () => {
    const failures: number[] = [];
    let calls = 0;
    const loop = new BackgroundLoop(
      async () => {
        calls++;
        if (calls <= 2 || calls === 4) throw new Error(`round ${calls}`);
        return 1;
      },
      (err, n) => {
        failures.push(n);
        expect(err).toBeInstanceOf(Error);
        return 1;
      },
    );
    void loop.run(undefined);
    await tick(100);
    await loop.stop();
    expect(failures).toEqual([1, 2, 1]);
  });

  it('ends a tenure at stop(), and a new run() gets a tenure of its own with its own context', async () => {
    const tenures: Tenure<string>[] = [];
    const loop = new BackgroundLoop<string>(
      async (t) => {
        if (!tenures.includes(t)) tenures.push(t);
        return 60_000;
      },
      () => 60_000,
    );
    void loop.run('first');
    await tick();
    await loop.stop();
    void loop.run('second');
    await tick();
    expect(tenures.map((t) => [t.context, t.over])).toEqual([
      ['first', true],
      ['second', false],
    ]);
    await loop.stop();
    expect(tenures[1]!.over).toBe(true);
  });

  it('ends a tenure when its signal aborts (leadership lost), in the middle of a wait', async () => {
    const abort = new AbortController();
    let rounds = 0;
    const loop = new BackgroundLoop(
      async () => {
        rounds++;
        return 60_000;
      },
      () => 60_000,
    );
    const done = loop.run(undefined, abort.signal);
    await tick();
    abort.abort();
    await done;
    expect(rounds).toBe(1);
  });

  it('does not report the failure of a round that ended because its tenure ended', async () => {
    const reported: unknown[] = [];
    let fail!: (e: Error) => void;
    const loop = new BackgroundLoop(
      () => new Promise<number>((_, reject) => (fail = reject)),
      (err) => {
        reported.push(err);
        return 1;
      },
    );
    const done = loop.run(undefined);
    await tick();
    const stopping = loop.stop();
    fail(new Error('lease lost'));
    await stopping;
    await done;
    expect(reported).toEqual([]);
  });

  it('starts no tenure after close()', async () => {
    let rounds = 0;
    const loop = new BackgroundLoop(
      async () => {
        rounds++;
        return 60_000;
      },
      () => 60_000,
    );
    await loop.close();
    await loop.run(undefined);
    expect(rounds).toBe(0);
  });
});
