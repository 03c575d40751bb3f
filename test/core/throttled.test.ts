/** throttled(): the first call at once, a burst folded into one call per interval, nothing after cancel. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { throttled } from '../../src/core/throttled.js';

describe('throttled', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs the first call at once and folds a burst into one call at the end of the interval', () => {
    const fn = vi.fn();
    const wake = throttled(fn, 25);
    wake();
    expect(fn).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 100; i++) wake();
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(24);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(2);
    // The folded call opened a new interval: a call within it waits for its end too.
    wake();
    expect(fn).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(25);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('after a quiet interval the next call runs at once again', () => {
    const fn = vi.fn();
    const wake = throttled(fn, 25);
    wake();
    vi.advanceTimersByTime(25);
    expect(fn).toHaveBeenCalledTimes(1);
    wake();
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('drops a folded call on cancel', () => {
    const fn = vi.fn();
    const wake = throttled(fn, 25);
    wake();
    wake();
    wake.cancel();
    vi.advanceTimersByTime(100);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
