/** Prometheus gauges of the distributed mode, refreshed at scrape time. */
import client from 'prom-client';
import type { KeelMetrics } from '../telemetry/metrics.js';

export interface ClusterGaugeSources {
  /** Leaderships this process holds now. */
  leads: () => string[];
  /** Every leadership registered in this process. */
  leaderships: () => string[];
  /** Partitions this process processes, per processor. */
  partitionsOwned: () => Map<string, number>;
  natsConnected: () => boolean;
}

export function registerClusterGauges(metrics: KeelMetrics, s: ClusterGaugeSources): void {
  const leader = new client.Gauge({
    name: 'keel_cluster_leader',
    help: '1 while this process holds the leadership (evaluator work runs here), else 0.',
    labelNames: ['leadership'] as const,
    registers: [metrics.registry],
  });
  const owned = new client.Gauge({
    name: 'keel_log_partitions_owned',
    help: 'Event log partitions this worker processes, per processor.',
    labelNames: ['consumer'] as const,
    registers: [metrics.registry],
  });
  const nats = new client.Gauge({
    name: 'keel_nats_connected',
    help: '1 while this process is connected to NATS, else 0 (ingest answers 503 meanwhile).',
    registers: [metrics.registry],
  });
  metrics.onScrape('cluster', () => {
    const held = new Set(s.leads());
    leader.reset();
    for (const name of s.leaderships()) leader.set({ leadership: name }, held.has(name) ? 1 : 0);
    owned.reset();
    for (const [consumer, n] of s.partitionsOwned()) owned.set({ consumer }, n);
    nats.set(s.natsConnected() ? 1 : 0);
  });
}
