/** Usage metering: folding batches into per-tenant, per-minute counts (pure). */
import { describe, expect, it } from 'vitest';
import { foldUsage, minuteOf } from '../../src/capacity/usage-fold.js';

describe('usage folding', () => {
  it('counts events and bytes per tenant per minute of arrival, per partition', () => {
    const b = (tenant: string, receivedAt: number, count: number, bytes: number) => ({ partition: 0, position: 1, tenant, receivedAt, count, minTs: 0, maxTs: 0, data: new Uint8Array(bytes) });
    const t0 = Date.parse('2026-05-01T10:00:30Z');
    expect(minuteOf(t0)).toBe(Date.parse('2026-05-01T10:00:00Z'));
    expect(foldUsage([b('a', t0, 3, 30), b('a', t0 + 20_000, 2, 20), b('a', t0 + 40_000, 1, 10), b('b', t0, 5, 50), { ...b('b', t0, 1, 1), partition: 2 }])).toEqual([
      { tenant: 'a', minute: Date.parse('2026-05-01T10:00:00Z'), partition: 0, events: 5, bytes: 50 },
      { tenant: 'a', minute: Date.parse('2026-05-01T10:01:00Z'), partition: 0, events: 1, bytes: 10 },
      { tenant: 'b', minute: Date.parse('2026-05-01T10:00:00Z'), partition: 0, events: 5, bytes: 50 },
      { tenant: 'b', minute: Date.parse('2026-05-01T10:00:00Z'), partition: 2, events: 1, bytes: 1 },
    ]);
  });
});
