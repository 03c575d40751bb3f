/**
 * Reads the current usage and capacity of every limit Keel itself has, with no configuration:
 * tenants' rate quotas, the event log's size and retention, the data volume, consumer lag, node
 * ingest capacity, and in the distributed mode the JetStream stream and PostgreSQL.
 */
import { statfsSync } from 'node:fs';
import { sql } from 'kysely';
import type { TenantService } from '../auth/tenants.js';
import type { KeelConfig } from '../core/config.js';
import type { EventLog } from '../log/event-log.js';
import { listMembers } from '../cluster/membership.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { IngestFigures } from './ingest-figures.js';
import type { LimitReading } from './limits.js';
import { MINUTE_MS, minuteOf } from './usage-fold.js';

interface StreamLike {
  streamInfo(): Promise<{ config: { max_bytes: number; max_msgs: number }; state: { bytes: number; messages: number } }>;
}

function hasStream(log: EventLog): log is EventLog & StreamLike {
  return typeof (log as Partial<StreamLike>).streamInfo === 'function';
}

export interface ProbeDeps {
  store: Store;
  log: EventLog;
  tenants: TenantService;
  config: KeelConfig;
  logger: Logger;
  /** Per-node ingest capacity: recorded bench results, else configured, else BENCHMARKS.md's. */
  figures: IngestFigures;
}

/** Peak events per minute (per tenant and in all) over complete minutes in [from, to). */
export async function peakMinutes(store: Store, from: number, to: number): Promise<{ perTenant: Map<string, number>; total: number }> {
  const rows = await store.db
    .selectFrom('usage_minutes')
    .select(['tenant_id', 'minute'])
    .select((eb) => eb.fn.sum<number>('events').as('events'))
    .where('minute', '>=', minuteOf(from))
    .where('minute', '<', minuteOf(to))
    .groupBy(['tenant_id', 'minute'])
    .execute();
  const perTenant = new Map<string, number>();
  const totals = new Map<number, number>();
  for (const r of rows) {
    const e = Number(r.events);
    perTenant.set(r.tenant_id, Math.max(perTenant.get(r.tenant_id) ?? 0, e));
    totals.set(Number(r.minute), (totals.get(Number(r.minute)) ?? 0) + e);
  }
  return { perTenant, total: Math.max(0, ...totals.values()) };
}

export async function readBuiltinLimits(d: ProbeDeps, now: number, windowMs: number): Promise<LimitReading[]> {
  const out: LimitReading[] = [];
  const distributed = hasStream(d.log);
  // Rate quotas: the busiest complete minute since the last sample, as events per second.
  const peaks = await peakMinutes(d.store, now - windowMs - MINUTE_MS, now);
  for (const t of await d.tenants.list()) {
    const rate = t.eventsPerSecond ?? d.config.quota.eventsPerSecond;
    out.push({ id: `tenant.${t.id}.rate`, tenant: t.id, usage: (peaks.perTenant.get(t.id) ?? 0) / 60, capacity: rate });
  }
  let ingestNodes = 1;
  if (distributed) {
    const members = await listMembers(d.store, now).catch(() => []);
    ingestNodes = Math.max(1, members.filter((m) => m.live && (m.role === 'all' || m.role.split(',').includes('ingest'))).length);
  }
  const perNode = (distributed ? d.figures.distributedPerNode : d.figures.embeddedPerNode).value;
  out.push({ id: 'node.ingest', tenant: '', usage: peaks.total / 60, capacity: perNode * ingestNodes });

  const stats = await d.log.stats();
  const retention = d.config.log.retention;
  if (retention.maxBytes > 0) out.push({ id: 'log.disk', tenant: '', usage: stats.bytes, capacity: retention.maxBytes });
  if (!distributed && d.config.log.maxBytes > 0) out.push({ id: 'log.max-bytes', tenant: '', usage: stats.bytes, capacity: d.config.log.maxBytes });
  // Retention: what the wanted age would take at the size per hour kept now (needs an hour kept).
  const oldest = await oldestKept(d.log);
  if (oldest !== null && retention.maxBytes > 0 && now - oldest >= 3_600_000) {
    const age = now - oldest;
    out.push({ id: 'log.retention', tenant: '', usage: stats.bytes * (retention.maxAge / age), capacity: retention.maxBytes });
  }
  const maxLag = d.config.log.maxLagEvents;
  const lag = new Map<string, number>();
  for (const c of stats.consumers) lag.set(c.name, Math.max(lag.get(c.name) ?? 0, c.lagEvents));
  for (const [name, events] of lag) out.push({ id: `consumer.${name}.lag`, tenant: '', usage: events, capacity: maxLag > 0 ? maxLag : null });

  if (!distributed) {
    try {
      const fs = statfsSync(d.config.dataDir);
      const size = fs.blocks * fs.bsize;
      out.push({ id: 'disk.data', tenant: '', usage: size - fs.bavail * fs.bsize, capacity: Math.max(1, size - d.config.log.minFreeDisk) });
    } catch (err) {
      d.logger.warn({ err }, "cannot read the data volume's size");
    }
  } else if (hasStream(d.log)) {
    try {
      const info = await d.log.streamInfo();
      const maxBytes = info.config.max_bytes > 0 ? info.config.max_bytes : d.config.nats.maxBytes > 0 ? d.config.nats.maxBytes : null;
      out.push({ id: 'stream.bytes', tenant: '', usage: info.state.bytes, capacity: maxBytes });
      out.push({ id: 'stream.messages', tenant: '', usage: info.state.messages, capacity: info.config.max_msgs > 0 ? info.config.max_msgs : null });
    } catch (err) {
      d.logger.warn({ err }, "cannot read the JetStream stream's state");
    }
  }
  if (d.store.engine === 'postgres') {
    try {
      const r = await sql<{ size: string; conns: string; max: string }>`
        SELECT pg_database_size(current_database())::text AS size,
               (SELECT count(*) FROM pg_stat_activity)::text AS conns,
               current_setting('max_connections') AS max`.execute(d.store.db);
      const row = r.rows[0]!;
      out.push({ id: 'postgres.size', tenant: '', usage: Number(row.size), capacity: d.config.capacity.postgresMaxBytes ?? null });
      out.push({ id: 'postgres.connections', tenant: '', usage: Number(row.conns), capacity: Number(row.max) });
    } catch (err) {
      d.logger.warn({ err }, "cannot read PostgreSQL's size and connections");
    }
  }
  return out;
}

/** When the oldest batch still in the log was received (null: empty log). */
async function oldestKept(log: EventLog): Promise<number | null> {
  let oldest: number | null = null;
  for (let p = 0; p < log.partitions; p++) {
    const first = await log.read(p, 0, { maxBatches: 1, headersOnly: true });
    if (first[0] && (oldest === null || first[0].receivedAt < oldest)) oldest = first[0].receivedAt;
  }
  return oldest;
}
