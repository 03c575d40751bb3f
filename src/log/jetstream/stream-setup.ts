/**
 * Creates the event stream, or brings an existing one to the configured settings. Every role
 * calls this at start; concurrent calls with the same settings are harmless.
 */
import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, StoreCompression, type JetStreamManager, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { KeelError } from '../../core/errors.js';
import type { Logger } from '../../telemetry/logger.js';
import { streamSubjects, type SubjectScheme } from './subjects.js';

export interface StreamSettings {
  name: string;
  scheme: SubjectScheme;
  replicas: number;
  duplicateWindowMs: number;
  /** Messages older than this are removed by JetStream (the log's retention.maxAge). */
  maxAgeMs: number;
  /** The stream refuses new messages (ingest answers 503) above this size; 0 = no stream limit. */
  maxBytes: number;
  /** The stream's storage compression (nats-server 2.10+); default none. */
  compression?: 'none' | 's2';
}

const ms = (v: number) => Math.round(v * 1e6);

export function desiredStreamConfig(s: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: s.name,
    subjects: streamSubjects(s.scheme),
    storage: StorageType.File,
    num_replicas: s.replicas,
    retention: RetentionPolicy.Limits,
    // Full means "refuse", never "drop the oldest": dropping could lose batches no worker has counted.
    discard: DiscardPolicy.New,
    max_age: s.maxAgeMs > 0 ? ms(s.maxAgeMs) : 0,
    max_bytes: s.maxBytes > 0 ? s.maxBytes : -1,
    duplicate_window: ms(s.duplicateWindowMs),
    allow_direct: true,
    // Only when asked: servers before 2.10 do not know the field.
    ...(s.compression === 's2' ? { compression: StoreCompression.S2 } : {}),
  };
}

/** Whether a nats-server version ("2.9.10") has stream compression (2.10 and later). */
export function serverCompresses(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? '').split('.').map((p) => Number.parseInt(p, 10));
  return major > 2 || (major === 2 && minor >= 10);
}

export async function ensureStream(jsm: JetStreamManager, s: StreamSettings, logger: Logger, serverVersion?: string): Promise<StreamInfo> {
  const want = desiredStreamConfig(s);
  if (s.compression === 's2' && !serverCompresses(serverVersion)) {
    throw new KeelError(
      'validation_failed',
      `nats.compression: s2 needs nats-server 2.10 or later; this server is ${serverVersion ?? 'of an unknown version'} (set nats.compression to none or upgrade the server)`,
    );
  }
  let info: StreamInfo | undefined;
  try {
    info = await jsm.streams.info(s.name);
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound)) throw e;
  }
  if (!info) {
    try {
      info = await jsm.streams.add(want);
      logger.info({ stream: s.name, subjects: want.subjects, replicas: s.replicas }, 'created the event stream');
      return info;
    } catch (e) {
      if (!(e instanceof JetStreamApiError)) throw e;
      // Another process created it at the same moment: fall through to the comparison.
      if (!/already in use/i.test(e.message)) throw streamError(s, e);
      info = await jsm.streams.info(s.name);
    }
  }
  const c = info.config;
  const differs =
    c.num_replicas !== want.num_replicas ||
    c.max_age !== want.max_age ||
    c.max_bytes !== want.max_bytes ||
    c.duplicate_window !== want.duplicate_window ||
    c.discard !== want.discard ||
    c.allow_direct !== want.allow_direct ||
    (c.compression ?? StoreCompression.None) !== (want.compression ?? StoreCompression.None) ||
    JSON.stringify(c.subjects) !== JSON.stringify(want.subjects);
  if (!differs) return info;
  if (c.storage !== StorageType.File) {
    throw new KeelError('validation_failed', `stream ${s.name} exists with ${c.storage} storage; Keel needs file storage (durable)`);
  }
  try {
    // A stream compressed before and not wanted so now: say none explicitly (want leaves the field out).
    const compression = c.compression !== undefined && want.compression === undefined ? { compression: StoreCompression.None } : {};
    const updated = await jsm.streams.update(s.name, { ...c, ...want, ...compression });
    logger.warn({ stream: s.name, replicas: s.replicas }, 'updated the event stream to the configured settings');
    return updated;
  } catch (e) {
    throw streamError(s, e);
  }
}

function streamError(s: StreamSettings, e: unknown): KeelError {
  const msg = (e as Error).message;
  if (/insufficient storage/i.test(msg)) {
    return new KeelError('validation_failed', `NATS cannot reserve ${s.maxBytes} bytes for stream ${s.name}: lower nats.maxBytes or give JetStream more storage (${msg})`);
  }
  if (/replicas > 1 not supported/i.test(msg)) {
    return new KeelError('validation_failed', `stream ${s.name} wants ${s.replicas} replicas but the NATS server is not clustered; set nats.replicas to 1 or connect to a cluster (${msg})`);
  }
  if (/overlap/i.test(msg)) {
    return new KeelError('validation_failed', `the subjects ${s.scheme.prefix}.> of stream ${s.name} overlap another stream's; choose another nats.subjectPrefix (${msg})`);
  }
  return new KeelError('unavailable', `cannot set up stream ${s.name}: ${msg}`, { cause: e });
}
