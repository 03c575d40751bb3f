/**
 * The recorder of Keel's own outcomes: one append per flush into keel-system, at most
 * maxPerFlush outcomes per signal (a sample of all of them), and what the log refused is kept
 * for the next flush. The log here is the real embedded SQLite log of a test Keel, wrapped so one
 * append can be made to fail as a NATS outage would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import type { AppendBatch, EventLog } from '../../src/log/event-log.js';
import { SelfRecorder } from '../../src/selfwatch/recorder.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel({ selfMonitoring: { enabled: false } });
});
afterAll(async () => t?.close());

function recorderOn(log: EventLog, maxPerFlush: number) {
  const metrics = new KeelMetrics();
  const clock = new FakeClock('2026-12-04T12:00:00Z');
  const recorder = new SelfRecorder({ log, clock, logger: createLogger('silent'), metrics, bus: new Bus(), role: 'all', maxPerFlush, flushIntervalMs: 60_000, random: () => 0 });
  return { recorder, metrics, clock };
}

async function selfEvents(): Promise<Record<string, unknown>[]> {
  const batches = await t.keel.ctx.log.readTenant('keel-system', 0, { maxBatches: 1000, maxBytes: 10_000_000 });
  return batches.flatMap((b) =>
    Buffer.from(b.data)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

describe('SelfRecorder', () => {
  it('appends one batch per flush, keeps at most maxPerFlush per signal, and keeps what the log refused', async () => {
    const appends: AppendBatch[] = [];
    let refuse = true;
    const log = {
      append: async (batch: AppendBatch) => {
        if (refuse) throw new Error('nats: no responders');
        appends.push(batch);
        return t.keel.ctx.log.append(batch);
      },
    } as unknown as EventLog;
    const { recorder, metrics, clock } = recorderOn(log, 3);
    for (let i = 0; i < 5; i++) recorder.record('ingest', { status: i < 4 ? 202 : 503, latency_ms: i });
    recorder.record('freshness', { lag_ms: 12, events: 1000 });
    await recorder.flush();
    expect(appends).toEqual([]);
    clock.advance(1000);
    refuse = false;
    recorder.record('ingest', { status: 202, latency_ms: 9 });
    await recorder.flush();
    expect(appends).toHaveLength(1);
    expect(appends[0]!.tenant).toBe('keel-system');
    const events = await selfEvents();
    // 3 ingest outcomes kept of the first 5 (random 0 replaces the first), then the refused batch's
    // 3 plus the new one over the bound of 3: the oldest is dropped.
    expect(events.filter((e) => e.signal === 'ingest')).toHaveLength(3);
    expect(events.filter((e) => e.signal === 'freshness')).toEqual([{ ts: Date.parse('2026-12-04T12:00:00Z'), signal: 'freshness', role: 'all', lag_ms: 12, events: 1000 }]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^keel_self_events_recorded_total\{signal="ingest"\} 3$/m);
    expect(text).toMatch(/^keel_self_events_recorded_total\{signal="freshness"\} 1$/m);
    // 2 sampled out of the first interval, 1 over the bound when the refused ones were merged.
    expect(text).toMatch(/^keel_self_events_dropped_total\{signal="ingest"\} 3$/m);
    await recorder.flush();
    expect(appends).toHaveLength(1);
  });
});
