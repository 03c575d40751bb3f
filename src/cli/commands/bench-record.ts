/**
 * `keel bench ingest --record`: sends the figure just measured to the Keel named by --url / KEEL_URL
 * (POST /v1/capacity/bench-results, a system admin's key), which then uses it as the capacity of
 * the node-ingest limit and in `keel capacity plan` (docs/capacity.md).
 */
import type { Command } from 'commander';
import { clientOf } from '../context.js';

export interface RecordedFigures {
  mode: 'embedded' | 'distributed';
  eventsPerSecond: number;
  ceilingEventsPerSecond: number;
  cores: number;
  loadAverage: number;
  partitions?: number;
  workerCpuMsPer1000?: number;
}

export async function recordBench(cmd: Command, figures: RecordedFigures, log: (line: string) => void): Promise<void> {
  const client = clientOf(cmd);
  const answer = await client.call<{
    figures: { embeddedPerNode: { value: number; source: string }; distributedPerNode: { value: number; source: string }; perPartition: { value: number; source: string } };
  }>('POST', '/v1/capacity/bench-results', { body: figures });
  const f = figures.mode === 'embedded' ? answer.figures.embeddedPerNode : answer.figures.distributedPerNode;
  log(`recorded into Keel at ${client.baseUrl}: ${figures.mode} node ingest capacity now ${Math.round(f.value).toLocaleString('en-US')} events/s (${f.source})`);
  if (figures.mode === 'distributed') log(`  per partition: ${Math.round(answer.figures.perPartition.value).toLocaleString('en-US')} events/s (${answer.figures.perPartition.source})`);
}
