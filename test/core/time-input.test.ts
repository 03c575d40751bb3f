import { describe, expect, it } from 'vitest';
import { KeelError } from '../../src/core/errors.js';
import { parseTimeInput, timeParam, timeText } from '../../src/core/time-input.js';

// 2026-11-15T12:00:00Z, written out so the expectations do not come from the code under test.
const NOW = 1_794_744_000_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('parseTimeInput: every time a user types', () => {
  it.each([
    ['2026-11-01', 1_793_491_200_000],
    ['2026-11-01T08:00:00Z', 1_793_491_200_000 + 8 * HOUR],
    ['2026-11-01T09:00:00+01:00', 1_793_491_200_000 + 8 * HOUR],
    ['2026-11-01T08:00:00.250Z', 1_793_491_200_000 + 8 * HOUR + 250],
    ['1793491200000', 1_793_491_200_000],
    ['0', 0],
    ['now', NOW],
    ['now-24h', NOW - 24 * HOUR],
    ['now+30m', NOW + 30 * 60_000],
    ['now-1.5h', NOW - 1.5 * HOUR],
    ['7d', NOW - 7 * DAY],
    ['-7d', NOW - 7 * DAY],
    ['2w', NOW - 14 * DAY],
    [' 24h ', NOW - 24 * HOUR],
  ])('%s', (text, expected) => {
    expect(parseTimeInput(text, NOW)).toBe(expected);
  });

  it.each(['', 'yesterday', '2026-13-01', '2026-02-30', '2026-1-5', 'now-', 'now-7x', '7 days', '2026-11-01T08:00', 'Tue Nov 25 2026', 'nowish'])('refuses %j', (text) => {
    expect(parseTimeInput(text, NOW)).toBeNaN();
  });

  it('a route field: the schema names what it accepts, timeParam resolves against the injected now', () => {
    const bad = timeText.safeParse('yesterday');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/^must be an RFC 3339 time .*a date \(2026-11-01\).*now-24h.*\(7d\)$/);
    expect(timeText.safeParse('2026-11-01').success).toBe(true);
    expect(timeParam('from', '24h', 5, NOW)).toBe(NOW - 24 * HOUR);
    expect(timeParam('from', undefined, 5, NOW)).toBe(5);
    expect(timeParam('from', undefined, undefined, NOW)).toBeUndefined();
    expect(() => timeParam('from', 'soon', 0, NOW)).toThrow(KeelError);
    expect(() => timeParam('from', 'soon', 0, NOW)).toThrow(/^from: must be an RFC 3339 time/);
  });
});
