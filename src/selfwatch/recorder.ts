/**
 * Records Keel's own outcomes (an ingest answer, a batch counted, a notification's fate) as events
 * of the `keel-system` tenant, appended straight to the event log once per flush interval: one
 * append per interval whatever the traffic, and never through `POST /v1/events`, so recording an
 * outcome is not itself a request with an outcome (no feedback loop). Batches of `keel-system` are
 * not measured for freshness either, for the same reason.
 *
 * Bounded: per signal and interval at most `maxPerFlush` outcomes are kept, a uniform sample
 * (reservoir) of all of them, so ratios stay unbiased under any load. Outcomes the log could not
 * take (NATS down) are kept for the next flush, up to the same bound per signal; what is dropped
 * is counted in `keel_self_events_dropped_total`.
 */
import client from 'prom-client';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { EventLog } from '../log/event-log.js';
import type { Logger } from '../telemetry/logger.js';
import type { KeelMetrics } from '../telemetry/metrics.js';
import { SELF_TENANT } from './definitions.js';

export type SelfSignal = 'ingest' | 'freshness' | 'notification';

export type SelfOutcome = Record<string, string | number>;

interface Reservoir {
  seen: number;
  kept: string[];
}

export class SelfRecorder {
  private buffers = new Map<SelfSignal, Reservoir>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly dropped: client.Counter<'signal'>;
  private readonly recorded: client.Counter<'signal'>;

  constructor(
    private readonly deps: {
      log: EventLog;
      clock: Clock;
      logger: Logger;
      metrics: KeelMetrics;
      bus: Bus;
      /** Which process recorded the outcome (its roles), kept on every event. */
      role: string;
      maxPerFlush: number;
      flushIntervalMs: number;
      random?: () => number;
    },
  ) {
    this.recorded = new client.Counter({
      name: 'keel_self_events_recorded_total',
      help: 'Outcomes Keel recorded about itself into the keel-system tenant (its own SLOs), by signal.',
      labelNames: ['signal'] as const,
      registers: [deps.metrics.registry],
    });
    this.dropped = new client.Counter({
      name: 'keel_self_events_dropped_total',
      help: 'Outcomes about Keel itself not recorded: sampled out above selfMonitoring.maxEventsPerFlush per interval, or kept too long while the log could not take them.',
      labelNames: ['signal'] as const,
      registers: [deps.metrics.registry],
    });
  }

  /** Notes one outcome; costs a string and an array slot, no I/O. */
  record(signal: SelfSignal, outcome: SelfOutcome, at = this.deps.clock.now()): void {
    const line = `${JSON.stringify({ ts: at, signal, role: this.deps.role, ...outcome })}\n`;
    let r = this.buffers.get(signal);
    if (!r) {
      r = { seen: 0, kept: [] };
      this.buffers.set(signal, r);
    }
    r.seen++;
    if (r.kept.length < this.deps.maxPerFlush) {
      r.kept.push(line);
      return;
    }
    // Reservoir sampling: every outcome of the interval has the same chance to be kept.
    const j = Math.floor((this.deps.random ?? Math.random)() * r.seen);
    if (j < r.kept.length) r.kept[j] = line;
    this.dropped.inc({ signal });
  }

  start(): void {
    const tick = () => {
      // A flush running while stop() was called must not schedule another after it.
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.flush().finally(tick), this.deps.flushIntervalMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Appends what was recorded since the last flush as one batch; keeps it for the next on failure. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.buffers.size === 0) return;
    const taken = this.buffers;
    this.buffers = new Map();
    const lines: string[] = [];
    for (const r of taken.values()) lines.push(...r.kept);
    if (lines.length === 0) return;
    let minTs = Number.MAX_SAFE_INTEGER;
    let maxTs = 0;
    for (const l of lines) {
      const ts = Number(/^\{"ts":(\d+)/.exec(l)?.[1] ?? 0);
      if (ts < minTs) minTs = ts;
      if (ts > maxTs) maxTs = ts;
    }
    try {
      const result = await this.deps.log.append({
        tenant: SELF_TENANT,
        data: Buffer.from(lines.join(''), 'utf8'),
        count: lines.length,
        minTs,
        maxTs,
        receivedAt: this.deps.clock.now(),
      });
      if (result.kind === 'appended') {
        this.deps.bus.emit('log.appended', { tenant: SELF_TENANT, partition: result.partition, position: result.position, count: lines.length });
      }
      for (const [signal, r] of taken) this.recorded.inc({ signal }, r.kept.length);
    } catch (err) {
      this.deps.logger.warn({ err, outcomes: lines.length }, 'could not record Keel’s own outcomes into the keel-system log; keeping them for the next try');
      // Put them back in front of what arrived meanwhile, within the bound per signal.
      for (const [signal, r] of taken) {
        const now = this.buffers.get(signal) ?? { seen: 0, kept: [] };
        const merged = [...r.kept, ...now.kept];
        const over = Math.max(0, merged.length - this.deps.maxPerFlush);
        if (over > 0) this.dropped.inc({ signal }, over);
        this.buffers.set(signal, { seen: Math.max(now.seen, merged.length - over), kept: merged.slice(over) });
      }
    }
  }
}
