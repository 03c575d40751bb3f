/** The progress watchdog of the subscribing runner (pure). */
import { describe, expect, it } from 'vitest';
import { observe } from '../../src/processing/progress-watchdog.js';

describe('the progress watchdog', () => {
  it('counts a stall only while the partition is held, has a backlog and does not move', () => {
    const w = { position: 10, since: 0 };
    expect(observe(w, { owned: true, position: 10, logEnd: 50 }, 1_000)).toBe(1_000);
    expect(observe(w, { owned: true, position: 10, logEnd: 60 }, 16_000)).toBe(16_000);
    expect(observe(w, { owned: true, position: 20, logEnd: 60 }, 17_000)).toBe(0); // it moved
    expect(observe(w, { owned: true, position: 20, logEnd: 60 }, 20_000)).toBe(3_000);
    expect(observe(w, { owned: false, position: 20, logEnd: 60 }, 21_000)).toBe(0); // another worker holds it
    expect(observe(w, { owned: true, position: 60, logEnd: 60 }, 40_000)).toBe(0); // caught up
    expect(observe(w, { owned: true, position: 60, logEnd: 60 }, 90_000)).toBe(0);
    expect(observe(w, { owned: true, position: 60, logEnd: 61 }, 91_000)).toBe(1_000);
  });
});
