/**
 * `keel_slo_events_total{tenant,slo,objective,good}`: events counted per SLO objective by the live
 * aggregator and by backfills, incremented after each commit, so Prometheus can compute the same
 * SLIs and burn rates (`keel export prometheus-rules`) and sees a new SLO's history too (as one
 * step when its backfill commits; Prometheus handles restarts as counter resets).
 */
import client from 'prom-client';
import type { KeelMetrics } from '../telemetry/metrics.js';
import type { FoldDeltas } from './fold-cells.js';
import type { ResolvedSlo } from './model.js';

export const SLO_EVENTS_METRIC = 'keel_slo_events_total';

export class SloMetrics {
  readonly events: client.Counter<'tenant' | 'slo' | 'objective' | 'good'>;
  readonly evaluations: client.Counter<'outcome'>;
  readonly backfillEvents: client.Counter;

  constructor(metrics: KeelMetrics) {
    const registers = [metrics.registry];
    this.events = new client.Counter({
      name: SLO_EVENTS_METRIC,
      help: 'Events counted per SLO objective by the live aggregator; good="true" for good events.',
      labelNames: ['tenant', 'slo', 'objective', 'good'] as const,
      registers,
    });
    this.evaluations = new client.Counter({
      name: 'keel_slo_evaluations_total',
      help: 'Burn-rate evaluation rounds by outcome.',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.backfillEvents = new client.Counter({
      name: 'keel_slo_backfill_events_total',
      help: 'Events folded into SLO counters by backfills.',
      registers,
    });
  }

  /** Makes an SLO's series visible at 0 before its first event, so rules see it at once. */
  touch(tenant: string, slo: string, objectives: number): void {
    for (let o = 0; o < objectives; o++) {
      for (const good of ['true', 'false']) this.events.inc({ tenant, slo, objective: String(o), good }, 0);
    }
  }

  /** Adds committed fold results (live or backfilled) to the events counter. */
  countCommitted(deltas: FoldDeltas, info: (uid: string) => { tenant: string; name: string; slo: ResolvedSlo; kind: 'ratio' | 'threshold' } | undefined): void {
    for (const d of deltas.values()) {
      const gen = info(d.uid);
      if (!gen) continue;
      for (let o = 0; o < gen.slo.objectives.length; o++) {
        const s = d.streams[gen.kind === 'ratio' ? 0 : o];
        if (!s) continue;
        let good = 0;
        let total = 0;
        for (const c of s.all.cells.values()) {
          good += c.good;
          total += c.total;
        }
        const labels = { tenant: gen.tenant, slo: gen.name, objective: String(o) };
        if (good > 0) this.events.inc({ ...labels, good: 'true' }, good);
        if (total - good > 0) this.events.inc({ ...labels, good: 'false' }, total - good);
      }
    }
  }
}
