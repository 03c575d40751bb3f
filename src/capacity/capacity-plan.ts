/**
 * Growth planning, pure: for a projected load, the nodes, partitions, disk and stream size the
 * embedded and distributed modes need, from the per-node figures measured in BENCHMARKS.md, and
 * the cost with a configured node price.
 *
 * The figures (BENCHMARKS.md, 2-vCPU machine):
 *   embedded: 558,500 durable events/s on one node (`keel bench ingest`, 2026-12-04);
 *   distributed: 179,200 events/s median for one 2-core machine (`keel bench ingest --mode
 *   distributed`, 2026-11-25); CPU per 1,000 events: ingest 3.83 ms, worker 0.56 ms, nats-server
 *   1.38 ms, PostgreSQL 0.25 ms (2026-12-04 run); one stream leader accepts ~1 M events/s
 *   (the raw-publish ceiling), so past that the advice is several Keel clusters (tenant groups).
 * The per-node ingest and per-partition figures come from `ingest-figures.ts`: recorded bench
 * results of the user's own machines when there are some, else the ones above.
 * Nodes and partitions are sized to run at most at TARGET_UTILISATION of those figures, leaving
 * headroom for bursts and a lost node.
 */
import { MONTH_MS } from './forecast.js';
import { DOCUMENTED_FIGURES, type IngestFigures } from './ingest-figures.js';

export const PLAN_FIGURES = {
  cpuMsPer1000: { ingest: 3.83, worker: 0.56, nats: 1.38, postgres: 0.25 },
  coresPerNode: 2,
  streamLeaderCeiling: 1_000_000,
  defaultPartitions: 8,
  /** Size of the benchmark's events, when no usage has been measured yet. */
  defaultBytesPerEvent: 260,
  /**
   * Disk bytes per NDJSON byte of a compacted embedded log segment, when the log has compacted
   * nothing yet to measure: the bench's events, 36 of 261 bytes (BENCHMARKS.md, 2026-12-05).
   */
  compactedFraction: 36 / 261,
} as const;

export const TARGET_UTILISATION = 0.7;

export interface PlanInput {
  /** Projected peak load, events per second. */
  load: number;
  /** Average stored bytes per event (measured from usage, or the default). */
  bytesPerEvent: number;
  /** Bytes an event takes on the embedded log's disk (compacted segments); default bytesPerEvent. */
  diskBytesPerEvent?: number;
  retentionMs: number;
  replicas: number;
  /** Per-node ingest and per-partition figures (recorded, configured or BENCHMARKS.md's; default the latter). */
  figures?: IngestFigures;
  nodePricePerMonth?: number;
}

export interface ModePlan {
  nodes: number;
  /** Bytes per event the disk figure is computed with. */
  diskBytesPerEvent: number;
  partitions?: number;
  /** Bytes the log holds at this load over the retention (per copy for the embedded disk, all replicas for the stream). */
  diskBytes: number;
  streamBytes?: number;
  costPerMonth: number | null;
  costPerBillionEvents: number | null;
  notes: string[];
}

export interface Plan {
  load: number;
  bytesPerEvent: number;
  figures: IngestFigures;
  embedded: ModePlan;
  distributed: ModePlan & { ingestNodes: number; workerNodes: number; natsNodes: number };
}

function cost(nodes: number, load: number, price: number | undefined): { costPerMonth: number | null; costPerBillionEvents: number | null } {
  if (price === undefined) return { costPerMonth: null, costPerBillionEvents: null };
  const perMonth = nodes * price;
  const eventsPerMonth = load * (MONTH_MS / 1000);
  return { costPerMonth: perMonth, costPerBillionEvents: eventsPerMonth > 0 ? perMonth / (eventsPerMonth / 1e9) : null };
}

export function plan(i: PlanInput): Plan {
  const F = PLAN_FIGURES;
  const logBytes = i.load * i.bytesPerEvent * (i.retentionMs / 1000);
  const figures = i.figures ?? DOCUMENTED_FIGURES;
  const embeddedDiskPerEvent = i.diskBytesPerEvent ?? i.bytesPerEvent;
  const embeddedPerNode = figures.embeddedPerNode.value;
  const embeddedFits = i.load <= embeddedPerNode * TARGET_UTILISATION;
  const embeddedNotes = embeddedFits
    ? [`one embedded node carries ${Math.round(embeddedPerNode)} events/s (${figures.embeddedPerNode.source}); this load uses ${((i.load / embeddedPerNode) * 100).toFixed(0)} % of it`]
    : [
        `over ${Math.round(embeddedPerNode * TARGET_UTILISATION)} events/s (${TARGET_UTILISATION * 100} % of one embedded node's ${Math.round(embeddedPerNode)}): the embedded mode runs on one node; use the distributed mode`,
      ];
  const perNode = figures.distributedPerNode.value;
  const perPartition = figures.perPartition.value;
  const ingestNodes = Math.max(2, Math.ceil(i.load / (perNode * TARGET_UTILISATION)));
  const partitions = Math.max(F.defaultPartitions, Math.ceil(i.load / (perPartition * TARGET_UTILISATION)));
  // A core folds what one partition carries (the same measured worker CPU per event).
  const workerCores = i.load / perPartition / TARGET_UTILISATION;
  const workerNodes = Math.max(1, Math.min(partitions, Math.ceil(workerCores / F.coresPerNode)));
  const natsCores = ((i.load / 1000) * F.cpuMsPer1000.nats) / 1000 / TARGET_UTILISATION;
  const natsNodes = Math.max(i.replicas, Math.ceil(natsCores / F.coresPerNode));
  const streamBytes = logBytes * i.replicas;
  const notes = [
    `ingest: ${ingestNodes} nodes at ${Math.round(perNode)} events/s each (${figures.distributedPerNode.source}), ${TARGET_UTILISATION * 100} % target`,
    `partitions: ${partitions} at ${Math.round(perPartition)} events/s each (${figures.perPartition.source}), ${TARGET_UTILISATION * 100} % target`,
    `workers: ${workerNodes} (partitions bound them: a partition is folded by one worker at a time)`,
    `PostgreSQL: one server (≤ 4 transactions/s per partition and processor while caught up; not the bound)`,
  ];
  if (i.load > F.streamLeaderCeiling * TARGET_UTILISATION)
    notes.push(`over ${F.streamLeaderCeiling * TARGET_UTILISATION} events/s: past what one stream leader accepts (~1 M/s measured); run several Keel clusters (tenant groups)`);
  const dNodes = ingestNodes + workerNodes + natsNodes + 1;
  return {
    load: i.load,
    bytesPerEvent: i.bytesPerEvent,
    figures,
    embedded: {
      nodes: embeddedFits ? 1 : Math.ceil(i.load / (embeddedPerNode * TARGET_UTILISATION)),
      diskBytesPerEvent: embeddedDiskPerEvent,
      diskBytes: i.load * embeddedDiskPerEvent * (i.retentionMs / 1000),
      ...cost(1, i.load, embeddedFits ? i.nodePricePerMonth : undefined),
      notes: embeddedNotes,
    },
    distributed: {
      nodes: dNodes,
      ingestNodes,
      workerNodes,
      natsNodes,
      partitions,
      diskBytesPerEvent: i.bytesPerEvent,
      diskBytes: streamBytes,
      streamBytes,
      ...cost(dNodes, i.load, i.nodePricePerMonth),
      notes,
    },
  };
}

/**
 * Disk bytes per NDJSON byte in the embedded log's compacted segments (the part still as
 * appended left out); null before anything was compacted, or for a log that does not say.
 */
export function compactedFraction(s: { bytes: number; diskBytes?: number; uncompactedBytes?: number }): number | null {
  if (s.diskBytes === undefined || s.uncompactedBytes === undefined) return null;
  const ndjson = s.bytes - s.uncompactedBytes;
  return ndjson > 0 ? (s.diskBytes - s.uncompactedBytes) / ndjson : null;
}

/** The load at `at` growing from `now`'s `current` by `perMonth` (compounding per 30 days). */
export function grownLoad(current: number, perMonth: number, now: number, at: number): number {
  return current * Math.pow(1 + perMonth, (at - now) / MONTH_MS);
}
