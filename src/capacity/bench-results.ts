/**
 * Benchmark results Keel records (`keel bench ingest --record`, POST /v1/capacity/bench-results):
 * the ingest capacity measured on the user's own machines, the latest of each mode.
 */
import type { Store } from '../store/store.js';

export type BenchMode = 'embedded' | 'distributed';

export interface BenchResult {
  mode: BenchMode;
  recordedAt: number;
  eventsPerSecond: number;
  ceilingEventsPerSecond: number;
  cores: number;
  loadAverage: number;
  partitions: number | null;
  workerCpuMsPer1000: number | null;
  recordedBy: string;
}

export class BenchResultService {
  constructor(private readonly store: Store) {}

  async record(r: BenchResult): Promise<void> {
    await this.store.db
      .insertInto('capacity_bench_results')
      .values({
        mode: r.mode,
        recorded_at: r.recordedAt,
        events_per_s: r.eventsPerSecond,
        ceiling_events_per_s: r.ceilingEventsPerSecond,
        cores: r.cores,
        load_average: r.loadAverage,
        partitions: r.partitions,
        worker_cpu_ms_per_1000: r.workerCpuMsPer1000,
        recorded_by: r.recordedBy,
      })
      .onConflict((oc) => oc.columns(['mode', 'recorded_at']).doNothing())
      .execute();
  }

  /** The latest result of each mode (none recorded: absent). */
  async latest(): Promise<Partial<Record<BenchMode, BenchResult>>> {
    const out: Partial<Record<BenchMode, BenchResult>> = {};
    for (const mode of ['embedded', 'distributed'] as const) {
      const r = await this.store.db.selectFrom('capacity_bench_results').selectAll().where('mode', '=', mode).orderBy('recorded_at', 'desc').limit(1).executeTakeFirst();
      if (r) {
        out[mode] = {
          mode,
          recordedAt: Number(r.recorded_at),
          eventsPerSecond: Number(r.events_per_s),
          ceilingEventsPerSecond: Number(r.ceiling_events_per_s),
          cores: Number(r.cores),
          loadAverage: Number(r.load_average),
          partitions: r.partitions === null ? null : Number(r.partitions),
          workerCpuMsPer1000: r.worker_cpu_ms_per_1000 === null ? null : Number(r.worker_cpu_ms_per_1000),
          recordedBy: r.recorded_by,
        };
      }
    }
    return out;
  }
}
