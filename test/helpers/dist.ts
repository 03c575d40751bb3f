/** Unique NATS stream/subject and PostgreSQL schema names per test, and their cleanup. */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { randomBase62 } from '../../src/core/ids.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { JetStreamEventLog, type JetStreamEventLogOptions } from '../../src/log/jetstream/jetstream-event-log.js';
import type { Store } from '../../src/store/store.js';
import { NATS_URL, PG_URL, dropSchema, randomSchema } from './stores.js';

export interface ClusterNames {
  stream: string;
  prefix: string;
  schema: string;
}

export function uniqueNames(label = 't'): ClusterNames {
  const id = randomBase62(8).toLowerCase();
  return { stream: `KEEL_TEST_${label.toUpperCase()}_${id}`, prefix: `keeltest.${label}${id}.ev`, schema: randomSchema(`keel_${label}`) };
}

export async function deleteStream(name: string, url = NATS_URL): Promise<void> {
  const nc = await connect({ servers: url, timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

export async function cleanup(names: ClusterNames, natsUrl = NATS_URL): Promise<void> {
  await deleteStream(names.stream, natsUrl).catch(() => undefined);
  await dropSchema(names.schema).catch(() => undefined);
}

export function testLogOptions(names: ClusterNames, store: Store, over: Partial<JetStreamEventLogOptions> & { partitions?: number; duplicateWindowMs?: number } = {}): JetStreamEventLogOptions {
  const { partitions, duplicateWindowMs, ...rest } = over;
  return {
    nats: { url: NATS_URL },
    stream: {
      name: names.stream,
      scheme: { prefix: names.prefix, partitions: partitions ?? 4 },
      replicas: 1,
      duplicateWindowMs: duplicateWindowMs ?? 120_000,
      maxAgeMs: 0,
      maxBytes: 0,
    },
    ackWaitMs: 2_000,
    publishTimeoutMs: 3_000,
    maxLagEvents: 0,
    maxEventBytes: 64 * 1024,
    store,
    logger: createLogger('silent'),
    ...rest,
  };
}

export function openTestLog(names: ClusterNames, store: Store, over: Parameters<typeof testLogOptions>[2] = {}): Promise<JetStreamEventLog> {
  return JetStreamEventLog.open(testLogOptions(names, store, over));
}

/**
 * One tenant's events as the stream holds them now, read message by message with NATS's own
 * client (not Keel's reader, so it can judge `keel verify counts`): each batch once (a republished
 * copy carries the same Keel-Batch id), summed from the Keel-Count headers.
 */
export async function tenantEventsInStream(o: { url: string; user?: string; pass?: string; caFile?: string; stream: string; prefix: string; tenant: string }): Promise<number> {
  const nc = await connect({
    servers: o.url,
    timeout: 5_000,
    ...(o.user ? { user: o.user, pass: o.pass ?? '' } : {}),
    ...(o.caFile ? { tls: { caFile: o.caFile } } : {}),
  });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000 });
    const { first_seq: first, last_seq: last } = (await jsm.streams.info(o.stream)).state;
    const seen = new Set<string>();
    let events = 0;
    for (let seq = first; seq <= last && first > 0; seq++) {
      const m = await jsm.streams.getMessage(o.stream, { seq }).catch(() => undefined);
      if (!m || !m.subject.startsWith(`${o.prefix}.`) || !m.subject.endsWith(`.${o.tenant}`)) continue;
      const batch = m.header?.get('Keel-Batch') ?? `seq ${seq}`;
      if (seen.has(batch)) continue;
      seen.add(batch);
      events += Number(m.header?.get('Keel-Count') ?? 0);
    }
    return events;
  } finally {
    await nc.close();
  }
}

/**
 * The batches a consumer counted (its `counted_batches`, kept 30 minutes) that the stream no longer
 * holds at the position they were counted at, read with NATS's own client: what a replica that
 * led after a fault had lost (nats-server 2.9.10, docs/distributed.md). Empty when the stream still
 * holds every batch counted, so counters above the log cannot be blamed on the stream.
 */
export async function countedBatchesGoneFromStream(o: { url: string; stream: string; schema: string; consumer: string }): Promise<{ id: string; position: number }[]> {
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  let counted: { id: string; position: number }[];
  try {
    const r = await db.query<{ id: string; position: string }>(`select id, position from "${o.schema}".counted_batches where consumer = $1 order by position`, [o.consumer]);
    counted = r.rows.map((row) => ({ id: row.id, position: Number(row.position) }));
  } finally {
    await db.end();
  }
  const nc = await connect({ servers: o.url, timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000 });
    const gone: { id: string; position: number }[] = [];
    for (const c of counted) {
      const m = await jsm.streams.getMessage(o.stream, { seq: c.position }).catch(() => undefined);
      if (m?.header?.get('Nats-Msg-Id') !== c.id) gone.push(c);
    }
    return gone;
  } finally {
    await nc.close();
  }
}
