import { describe, expect, it } from 'vitest';
import { Waker } from '../../src/core/waker.js';

describe('Waker', () => {
  it('cuts a pause short when woken', async () => {
    const w = new Waker();
    let woke = false;
    const pause = w.sleep(60_000).then(() => (woke = true));
    w.wake();
    await pause;
    expect(woke).toBe(true);
  });

  it('keeps a wake that came while the loop was busy: the next pause returns at once, the one after waits', async () => {
    const w = new Waker();
    w.wake();
    w.wake();
    let first = false;
    await Promise.race([w.sleep(60_000).then(() => (first = true)), new Promise((r) => setTimeout(r, 50))]);
    expect(first).toBe(true);
    let second = false;
    await Promise.race([w.sleep(60_000).then(() => (second = true)), new Promise((r) => setTimeout(r, 50))]);
    expect(second).toBe(false);
    w.wake();
  });
});
