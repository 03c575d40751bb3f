/** Growth planning (pure): nodes, partitions, disk, stream size and cost, computed by hand from the BENCHMARKS.md figures. */
import { describe, expect, it } from 'vitest';
import { compactedFraction, grownLoad, plan } from '../../src/capacity/capacity-plan.js';
import { ingestFigures } from '../../src/capacity/ingest-figures.js';

const WEEK = 7 * 86_400_000;

describe('capacity plan', () => {
  it('500,000 events/s for a week of 260-byte events, R3, 200 per node and month', () => {
    const p = plan({ load: 500_000, bytesPerEvent: 260, retentionMs: WEEK, replicas: 3, nodePricePerMonth: 200 });
    // Embedded: one node carries 558,500/s; 70 % of it is 390,950 < 500,000: distributed advised.
    expect(p.embedded.notes[0]).toContain('use the distributed mode');
    expect(p.embedded.costPerMonth).toBeNull();
    // 500,000 · 260 B · 604,800 s = 78.624 TB of log; three replicas in the stream.
    expect(p.embedded.diskBytes).toBe(500_000 * 260 * 604_800);
    expect(p.distributed.streamBytes).toBe(3 * 500_000 * 260 * 604_800);
    // Ingest: 500,000 / (179,200 · 0.7 = 125,440) = 3.99 → 4 nodes.
    expect(p.distributed.ingestNodes).toBe(4);
    // Partitions: one core folds 1,000,000 / 0.56 = 1,785,714 events/s (the worker's measured CPU);
    // at 70 % 1,250,000 per partition: max(8, 500,000 / 1,250,000) = 8.
    expect(p.distributed.partitions).toBe(8);
    // Workers: 500 thousand-event units · 0.56 ms = 280 ms/s = 0.28 cores / 0.7 = 0.4 cores → 1 node.
    expect(p.distributed.workerNodes).toBe(1);
    // NATS: 500 · 1.38 ms = 0.69 cores / 0.7 = 0.99 → 1 node, but at least the 3 replicas.
    expect(p.distributed.natsNodes).toBe(3);
    // 4 + 1 + 3 + PostgreSQL = 9 nodes · 200 = 1,800 a month.
    expect(p.distributed.nodes).toBe(9);
    expect(p.distributed.costPerMonth).toBe(1_800);
    // A 30-day month at 500,000/s is 1,296 billion events: 1,800 / 1,296 = 1.3889 per billion.
    expect(p.distributed.costPerBillionEvents).toBeCloseTo(1_800 / 1_296, 9);
  });

  it('a small load fits one embedded node; a huge one is told to split the stream', () => {
    const small = plan({ load: 100_000, bytesPerEvent: 300, retentionMs: WEEK, replicas: 1, nodePricePerMonth: 100 });
    expect(small.embedded.nodes).toBe(1);
    expect(small.embedded.costPerMonth).toBe(100);
    expect(small.embedded.notes[0]).toContain('uses 18 %');
    const huge = plan({ load: 3_000_000, bytesPerEvent: 260, retentionMs: WEEK, replicas: 3 });
    // 3,000,000 / 1,250,000 = 2.4 < 8 partitions; 3,000,000 / 125,440 = 23.9 → 24 ingest nodes.
    expect(huge.distributed.partitions).toBe(8);
    expect(huge.distributed.ingestNodes).toBe(24);
    expect(huge.distributed.notes.join('\n')).toContain('several Keel clusters');
    expect(huge.distributed.costPerMonth).toBeNull();
    // 12,000,000 / 1,250,000 = 9.6 → 10 partitions.
    expect(plan({ load: 12_000_000, bytesPerEvent: 260, retentionMs: WEEK, replicas: 3 }).distributed.partitions).toBe(10);
  });

  it('uses recorded bench results over the configured figure, and the configured over BENCHMARKS.md', () => {
    const at = Date.parse('2026-12-05T01:00:00Z');
    const recorded = {
      embedded: {
        mode: 'embedded' as const,
        recordedAt: at,
        eventsPerSecond: 300_000,
        ceilingEventsPerSecond: 900_000,
        cores: 4,
        loadAverage: 0.5,
        partitions: null,
        workerCpuMsPer1000: null,
        recordedBy: 'key:abc',
      },
      distributed: {
        mode: 'distributed' as const,
        recordedAt: at,
        eventsPerSecond: 100_000,
        ceilingEventsPerSecond: 1_000_000,
        cores: 2,
        loadAverage: 1.5,
        partitions: 8,
        workerCpuMsPer1000: 2,
        recordedBy: 'key:abc',
      },
    };
    const f = ingestFigures(recorded, 50_000);
    expect(f.embeddedPerNode).toEqual({ value: 300_000, source: 'keel bench ingest recorded 2026-12-05 (4 cores, load average 0.5)' });
    expect(f.distributedPerNode.value).toBe(100_000);
    // 2 ms of worker CPU per 1,000 events: one core folds 500,000 events/s.
    expect(f.perPartition.value).toBe(500_000);
    expect(f.perPartition.source).toContain('2 ms of CPU per 1,000 events, keel bench ingest --mode distributed recorded 2026-12-05');
    // Nothing recorded: the configured figure for both modes; nothing configured either: BENCHMARKS.md.
    expect(ingestFigures({}, 50_000).embeddedPerNode).toEqual({ value: 50_000, source: 'capacity.nodeIngestEventsPerSecond' });
    expect(ingestFigures({}).distributedPerNode.value).toBe(179_200);
    // 1,000,000 / (100,000 · 0.7) = 14.3 → 15 ingest nodes; 1,000,000 / (500,000 · 0.7) = 2.9, so the
    // default 8 partitions; at 7,000,000: 7,000,000 / 350,000 = 20 partitions.
    const p = plan({ load: 1_000_000, bytesPerEvent: 260, retentionMs: WEEK, replicas: 1, figures: f });
    expect(p.distributed.ingestNodes).toBe(15);
    expect(p.distributed.partitions).toBe(8);
    expect(plan({ load: 7_000_000, bytesPerEvent: 260, retentionMs: WEEK, replicas: 1, figures: f }).distributed.partitions).toBe(20);
    // Workers: 1,000,000 / 500,000 = 2 cores / 0.7 = 2.86 → 2 nodes of 2 cores.
    expect(p.distributed.workerNodes).toBe(2);
    expect(p.figures).toBe(f);
    expect(p.distributed.notes.join('\n')).toContain('partitions: 8 at 500000 events/s each');
  });

  it('sizes the embedded disk with the bytes per event compaction leaves, the stream with the NDJSON', () => {
    const p = plan({ load: 100_000, bytesPerEvent: 261, diskBytesPerEvent: 36, retentionMs: WEEK, replicas: 3 });
    // 100,000 · 36 B · 604,800 s = 2.177 TB on the embedded disk instead of 15.79 TB.
    expect(p.embedded.diskBytes).toBe(100_000 * 36 * 604_800);
    expect(p.embedded.diskBytesPerEvent).toBe(36);
    expect(p.distributed.streamBytes).toBe(3 * 100_000 * 261 * 604_800);
  });

  it('measures the compacted fraction on the compacted part of the log only', () => {
    // 1,000,000 NDJSON bytes, 200,000 of them not compacted yet, the other 800,000 in 100,000 bytes.
    expect(compactedFraction({ bytes: 1_000_000, diskBytes: 300_000, uncompactedBytes: 200_000 })).toBe(0.125);
    expect(compactedFraction({ bytes: 5_000, diskBytes: 5_000, uncompactedBytes: 5_000 })).toBeNull();
    expect(compactedFraction({ bytes: 5_000 })).toBeNull();
  });

  it('grows a load by a monthly rate to a date', () => {
    // 100,000/s growing 20 % a month for 90 days (three 30-day months): 100,000 · 1.2³ = 172,800.
    expect(grownLoad(100_000, 0.2, 0, 90 * 86_400_000)).toBeCloseTo(172_800, 6);
  });
});
