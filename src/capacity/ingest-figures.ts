/**
 * The ingest capacity figures the node-ingest limit and the growth plan use, pure, each with where
 * it comes from: the latest result `keel bench ingest --record` stored for the mode (measured on
 * the user's own machines), else `capacity.nodeIngestEventsPerSecond`, else BENCHMARKS.md's.
 *
 * A partition is folded by one worker at a time, so what one partition carries is what one core
 * folds: 1,000,000 / (the worker's CPU ms per 1,000 events) events/s. The worker's CPU per 1,000
 * events is measured by `keel bench ingest --mode distributed` (per-component CPU from /proc):
 * recorded, else BENCHMARKS.md's 0.56 ms (run of 2026-12-04), i.e. 1,785,714 events/s.
 */
import type { BenchMode, BenchResult } from './bench-results.js';
import { MEASURED_INGEST_PER_NODE } from './limits.js';

/** Worker CPU ms per 1,000 events, `keel bench ingest --mode distributed`, 2026-12-04 (BENCHMARKS.md). */
export const MEASURED_WORKER_CPU_MS_PER_1000 = 0.56;

export interface Figure {
  value: number;
  /** Where the value comes from, as a person would cite it. */
  source: string;
}

export interface IngestFigures {
  embeddedPerNode: Figure;
  distributedPerNode: Figure;
  perPartition: Figure;
}

const day = (t: number): string => new Date(t).toISOString().slice(0, 10);

function perNode(mode: BenchMode, recorded: BenchResult | undefined, configured: number | undefined): Figure {
  if (recorded)
    return {
      value: recorded.eventsPerSecond,
      source: `keel bench ingest${mode === 'distributed' ? ' --mode distributed' : ''} recorded ${day(recorded.recordedAt)} (${recorded.cores} cores, load average ${recorded.loadAverage})`,
    };
  if (configured !== undefined) return { value: configured, source: 'capacity.nodeIngestEventsPerSecond' };
  return { value: MEASURED_INGEST_PER_NODE[mode], source: `BENCHMARKS.md (${mode === 'embedded' ? 'keel bench ingest, 2026-12-04' : 'keel bench ingest --mode distributed, median of 2026-11-25'})` };
}

export function ingestFigures(recorded: Partial<Record<BenchMode, BenchResult>>, configured?: number): IngestFigures {
  const d = recorded.distributed;
  const workerCpu = d?.workerCpuMsPer1000 != null && d.workerCpuMsPer1000 > 0 ? d.workerCpuMsPer1000 : null;
  return {
    embeddedPerNode: perNode('embedded', recorded.embedded, configured),
    distributedPerNode: perNode('distributed', d, configured),
    perPartition:
      workerCpu !== null
        ? { value: 1e6 / workerCpu, source: `one core of fold at the worker's ${workerCpu} ms of CPU per 1,000 events, keel bench ingest --mode distributed recorded ${day(d!.recordedAt)}` }
        : {
            value: 1e6 / MEASURED_WORKER_CPU_MS_PER_1000,
            source: `one core of fold at the worker's ${MEASURED_WORKER_CPU_MS_PER_1000} ms of CPU per 1,000 events, BENCHMARKS.md (keel bench ingest --mode distributed, 2026-12-04)`,
          },
  };
}

/** BENCHMARKS.md's figures alone (nothing recorded, nothing configured). */
export const DOCUMENTED_FIGURES: IngestFigures = ingestFigures({});
