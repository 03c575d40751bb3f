/**
 * What a limit is, pure: Keel's own limits are named by id (`tenant.acme.rate`, `log.disk`,
 * `stream.bytes`, ...), and each kind has a title, a unit and the action that would help. The
 * sampler stores only id, usage and capacity; everything else follows from the id here, so a
 * renamed title never needs a migration.
 */

export type LimitKind =
  | 'rate_quota'
  | 'daily_quota'
  | 'log_disk'
  | 'log_max_bytes'
  | 'log_retention'
  | 'data_disk'
  | 'consumer_lag'
  | 'node_ingest'
  | 'stream_bytes'
  | 'stream_messages'
  | 'postgres_size'
  | 'postgres_connections'
  | 'user';

export interface LimitReading {
  id: string;
  /** '' for Keel's own, system-wide limits. */
  tenant: string;
  usage: number;
  capacity: number | null;
}

export interface LimitInfo {
  kind: LimitKind;
  title: string;
  unit: string;
  /** What would help when it runs out. */
  action: string;
}

/**
 * Measured per-node ingest (BENCHMARKS.md): the embedded default's 558,500 durable events/s
 * (`keel bench ingest`, 2026-12-04) and the distributed mode's median 179,200 events/s for one
 * 2-core machine running ingest + worker (`keel bench ingest --mode distributed`, 2026-11-25).
 */
export const MEASURED_INGEST_PER_NODE = { embedded: 558_500, distributed: 179_200 } as const;

export function describeLimit(id: string, user?: { title?: string; unit?: string }): LimitInfo {
  const parts = id.split('.');
  if (parts[0] === 'tenant' && parts.length === 3) {
    const t = parts[1]!;
    if (parts[2] === 'rate') {
      return {
        kind: 'rate_quota',
        title: `rate quota of tenant ${t} (peak per minute)`,
        unit: 'events/s',
        action: `raise the rate quota (keel tenants update ${t} --events-per-second N) or ask the tenant to smooth its sending`,
      };
    }
    if (parts[2] === 'daily') {
      return {
        kind: 'daily_quota',
        title: `daily volume quota of tenant ${t}`,
        unit: 'events/day',
        action: `raise the daily quota (keel capacity quota set ${t} --events-per-day N) or ask the tenant to send less`,
      };
    }
  }
  if (parts[0] === 'consumer' && parts.length === 3) {
    return { kind: 'consumer_lag', title: `lag of the ${parts[1]} processor`, unit: 'events', action: 'add workers (up to the partition count) or find what slows the processor (keel doctor)' };
  }
  if (parts[0] === 'limit' && parts.length >= 3) {
    return {
      kind: 'user',
      title: user?.title ?? `limit ${parts.slice(2).join('.')} of tenant ${parts[1]}`,
      unit: user?.unit ?? '',
      action: 'raise the capacity of this resource or move load away from it',
    };
  }
  switch (id) {
    case 'log.disk':
      return {
        kind: 'log_disk',
        title: 'event log size against its retention size (log.retention.maxBytes)',
        unit: 'bytes',
        action: 'raise log.retention.maxBytes (and the disk), or shorten log.retention.maxAge',
      };
    case 'log.max-bytes':
      return {
        kind: 'log_max_bytes',
        title: 'event log size against the size where appends are refused (log.maxBytes)',
        unit: 'bytes',
        action: 'raise log.maxBytes and the disk; check that retention runs (keel doctor)',
      };
    case 'log.retention':
      return {
        kind: 'log_retention',
        title: 'bytes the wanted retention (log.retention.maxAge) needs against log.retention.maxBytes',
        unit: 'bytes',
        action: 'raise log.retention.maxBytes, or accept a shorter retention than log.retention.maxAge',
      };
    case 'disk.data':
      return {
        kind: 'data_disk',
        title: 'data volume used against its size less log.minFreeDisk (appends are refused there)',
        unit: 'bytes',
        action: 'grow the data volume or lower log.retention.maxBytes',
      };
    case 'node.ingest':
      return {
        kind: 'node_ingest',
        title: 'peak ingest against the measured capacity of the ingest nodes',
        unit: 'events/s',
        action: 'add ingest nodes (keel capacity plan --load N/s says how many)',
      };
    case 'stream.bytes':
      return { kind: 'stream_bytes', title: 'JetStream stream bytes against its maximum', unit: 'bytes', action: "raise the stream's max_bytes (nats.maxBytes) and the servers' storage" };
    case 'stream.messages':
      return {
        kind: 'stream_messages',
        title: 'JetStream stream messages against its maximum',
        unit: 'messages',
        action: "raise the stream's max_msgs, or send larger requests (fewer, larger messages)",
      };
    case 'postgres.size':
      return { kind: 'postgres_size', title: 'PostgreSQL database size against capacity.postgresMaxBytes', unit: 'bytes', action: "grow PostgreSQL's storage, or shorten capacity.usageRetention" };
    case 'postgres.connections':
      return {
        kind: 'postgres_connections',
        title: 'PostgreSQL connections against max_connections',
        unit: 'connections',
        action: 'raise max_connections, put a pooler in front, or lower postgres.poolSize',
      };
    default:
      return { kind: 'user', title: id, unit: '', action: 'raise the capacity' };
  }
}

/** Ids are path segments of `/v1/capacity/limits/{id}`: lowercase words joined by dots. */
export const LIMIT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
