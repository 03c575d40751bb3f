/** Gathers the facts `keel doctor` judges (doctor-checks.ts) from the running adapters. */
import { statfsSync } from 'node:fs';
import { sql } from 'kysely';
import { request } from 'undici';
import type { KeelConfig } from '../core/config.js';
import type { EventLog } from '../log/event-log.js';
import type { JetStreamEventLog } from '../log/jetstream/jetstream-event-log.js';
import type { Store } from '../store/store.js';
import type { DoctorFacts, NatsFacts, PostgresFacts, ReplicaState } from './doctor-checks.js';
import { listMembers } from './membership.js';

export async function postgresFacts(store: Store): Promise<PostgresFacts> {
  try {
    const r = await sql<{ version: string; fsync: string; sc: string; fpw: string }>`
      SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync,
             current_setting('synchronous_commit') AS sc, current_setting('full_page_writes') AS fpw`.execute(store.db);
    const row = r.rows[0]!;
    return { reachable: true, version: row.version, fsync: row.fsync, synchronousCommit: row.sc, fullPageWrites: row.fpw };
  } catch (e) {
    return { reachable: false, error: (e as Error).message };
  }
}

/** Reads sync settings from the server's monitoring endpoint (/varz). */
export async function readMonitor(monitorUrl: string): Promise<NonNullable<NatsFacts['monitor']>> {
  try {
    const res = await request(`${monitorUrl.replace(/\/+$/, '')}/varz`, { headersTimeout: 3_000, bodyTimeout: 3_000 });
    const body = (await res.body.json()) as { version?: string; jetstream?: { config?: { sync_always?: boolean; sync_interval?: number } } };
    if (res.statusCode !== 200) return { error: `HTTP ${res.statusCode}` };
    const c = body.jetstream?.config ?? {};
    return {
      syncAlways: c.sync_always === true,
      ...(typeof c.sync_interval === 'number' ? { syncIntervalNs: c.sync_interval } : {}),
      ...(body.version ? { version: body.version } : {}),
    };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The stream's state as each server's monitoring endpoint (/jsz) reports its own replica. */
export async function readReplicaStates(monitorUrls: string[], stream: string): Promise<ReplicaState[]> {
  return Promise.all(
    monitorUrls.map(async (url): Promise<ReplicaState> => {
      const base = url.replace(/\/+$/, '');
      try {
        const res = await request(`${base}/jsz?accounts=true&streams=true`, { headersTimeout: 3_000, bodyTimeout: 3_000 });
        const body = (await res.body.json()) as {
          server_id?: string;
          account_details?: { stream_detail?: { name: string; state?: { messages: number; bytes: number; last_seq: number } }[] }[];
        };
        if (res.statusCode !== 200) return { server: base, error: `HTTP ${res.statusCode}` };
        const s = (body.account_details ?? []).flatMap((a) => a.stream_detail ?? []).find((d) => d.name === stream);
        if (!s?.state) return { server: base, error: `holds no replica of stream ${stream}` };
        return { server: base, messages: s.state.messages, bytes: s.state.bytes, lastSeq: s.state.last_seq };
      } catch (e) {
        return { server: base, error: (e as Error).message };
      }
    }),
  );
}

export async function natsFacts(log: JetStreamEventLog, config: KeelConfig): Promise<NatsFacts> {
  const f = log.facts();
  let stream = f.stream;
  let problem = f.streamProblem;
  try {
    stream = await log.streamInfo();
    problem = undefined;
  } catch (e) {
    problem = `stream ${config.nats.stream} does not answer: ${(e as Error).message}`;
  }
  const facts: NatsFacts = { connected: f.connected, serverVersion: f.serverVersion, servers: f.servers, streamName: config.nats.stream };
  if (problem) facts.streamProblem = problem;
  if (stream) {
    const replicas = stream.cluster?.replicas ?? [];
    facts.stream = {
      replicas: stream.config.num_replicas,
      storage: stream.config.storage,
      messages: stream.state.messages,
      bytes: stream.state.bytes,
      ...(stream.cluster?.leader ? { leader: stream.cluster.leader } : {}),
      ...(stream.cluster ? { replicasCurrent: replicas.filter((r) => r.current).length } : {}),
    };
  }
  if (config.nats.monitorUrl) {
    const urls = config.nats.monitorUrl.split(',').map((u) => u.trim());
    facts.monitor = await readMonitor(urls[0]!);
    facts.replicaStates = await readReplicaStates(urls, config.nats.stream);
  }
  return facts;
}

export async function distributedFacts(o: { log: JetStreamEventLog; store: Store; config: KeelConfig }): Promise<DoctorFacts> {
  const [nats, postgres] = await Promise.all([natsFacts(o.log, o.config), postgresFacts(o.store)]);
  const facts: DoctorFacts = { mode: 'distributed', nats, postgres, partitions: o.config.nats.partitions };
  if (postgres.reachable) facts.members = await listMembers(o.store).catch(() => []);
  return facts;
}

export async function embeddedFacts(o: { log: EventLog; config: KeelConfig }): Promise<DoctorFacts> {
  const h = o.log.health();
  let freeDiskBytes: number | undefined;
  try {
    const s = statfsSync(o.config.dataDir);
    freeDiskBytes = s.bavail * s.bsize;
  } catch {
    freeDiskBytes = undefined;
  }
  return {
    mode: 'embedded',
    embedded: {
      logWritable: h.writable && !h.overloaded,
      ...(h.overloaded ? { logProblem: h.overloaded.reason } : {}),
      ...(freeDiskBytes !== undefined ? { freeDiskBytes } : {}),
      minFreeDiskBytes: o.config.log.minFreeDisk,
    },
  };
}
