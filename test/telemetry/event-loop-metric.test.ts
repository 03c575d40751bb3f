/**
 * `keel_event_loop_active_seconds_total` counts the time the event loop spent running: a
 * callback that keeps the loop busy for 200 ms adds at least that (less a margin for the clock's
 * granularity), and time spent waiting on a timer adds less than half of it.
 */
import { describe, expect, it } from 'vitest';
import { KeelMetrics } from '../../src/telemetry/metrics.js';

async function activeSeconds(metrics: KeelMetrics): Promise<number> {
  const m = /^keel_event_loop_active_seconds_total ([0-9.e+-]+)$/m.exec(await metrics.render());
  expect(m, 'the counter is exported').not.toBeNull();
  return Number(m![1]);
}

describe('the event loop utilisation counter', () => {
  it('grows by the time the loop was busy, and not by the time it waited', async () => {
    const metrics = new KeelMetrics();
    const first = await activeSeconds(metrics);
    await new Promise((r) => setTimeout(r, 10));
    const busyUntil = performance.now() + 200;
    while (performance.now() < busyUntil) {
      // keep the loop running
    }
    await new Promise((r) => setTimeout(r, 10));
    const busy = (await activeSeconds(metrics)) - first;
    expect(busy).toBeGreaterThanOrEqual(0.19);

    const before = await activeSeconds(metrics);
    await new Promise((r) => setTimeout(r, 300));
    const idle = (await activeSeconds(metrics)) - before;
    expect(idle).toBeLessThan(0.15);
  });
});
