/**
 * What production durability needs, as checks over facts gathered elsewhere (pure, so each rule is
 * unit-tested). Jepsen's 2025 analysis of NATS 2.12.1 found JetStream acknowledging writes it had
 * not flushed (fsync every 2 minutes by default) and losing them on power failure or kernel crash;
 * 2.10.20-2.10.22 also lost streams on process crashes. Hence: nats-server >= 2.10.23,
 * `sync_interval: always` (or R3 across failure domains, knowingly), and stream replicas >= 3.
 */
import type { Member } from './membership.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  message: string;
}

export interface NatsFacts {
  connected: boolean;
  serverVersion: string;
  servers: string[];
  streamName: string;
  stream?: { replicas: number; storage: string; leader?: string; replicasCurrent?: number; messages: number; bytes: number };
  streamProblem?: string;
  /** From the server's monitoring endpoint (/varz), when nats.monitorUrl is set. */
  monitor?: { syncAlways: boolean; syncIntervalNs?: number; version?: string } | { error: string };
  /** The stream's state on each server of nats.monitorUrl (/jsz), to compare replicas. */
  replicaStates?: ReplicaState[];
}

export type ReplicaState = { server: string; messages: number; bytes: number; lastSeq: number } | { server: string; error: string };

/**
 * Replicas of one stream that disagree on what they hold. Under load followers trail the leader by
 * a few messages, so a difference is a warning to look again, not a failure; a difference that
 * stays (seen on nats-server 2.9.10 after a stalled stream leader) means reads depend on which node
 * leads: run `keel verify counts`.
 */
export function replicaChecks(states: ReplicaState[] | undefined, replicas: number | undefined): Check[] {
  if (!states || (replicas ?? 1) <= 1) return [];
  const read = states.filter((s): s is Extract<ReplicaState, { messages: number }> => !('error' in s));
  const failed = states.filter((s): s is Extract<ReplicaState, { error: string }> => 'error' in s);
  const list = read.map((s) => `${s.server}: ${s.messages} messages, ${s.bytes} bytes, last sequence ${s.lastSeq}`).join('; ');
  const out: Check[] = [];
  if (read.length + failed.length < (replicas ?? 1)) {
    out.push({
      name: 'nats.replicas.agree',
      status: 'warn',
      message: `nats.monitorUrl lists ${states.length} of the stream's ${replicas} servers: list every server's monitoring URL to compare all replicas`,
    });
  }
  for (const f of failed) out.push({ name: 'nats.replicas.agree', status: 'warn', message: `cannot read the stream's state from ${f.server}: ${f.error}` });
  if (read.length < 2) return out;
  const same = read.every((s) => s.messages === read[0]!.messages && s.bytes === read[0]!.bytes && s.lastSeq === read[0]!.lastSeq);
  out.push(
    same
      ? { name: 'nats.replicas.agree', status: 'ok', message: `${read.length} replicas hold the same stream state (${read[0]!.messages} messages, last sequence ${read[0]!.lastSeq})` }
      : {
          name: 'nats.replicas.agree',
          status: 'warn',
          message: `the stream's replicas differ (${list}); under load followers trail briefly, so run doctor again: a difference that stays means reads depend on which node leads — run \`keel verify counts\``,
        },
  );
  return out;
}

export interface PostgresFacts {
  reachable: boolean;
  error?: string;
  version?: string;
  fsync?: string;
  synchronousCommit?: string;
  fullPageWrites?: string;
}

export interface DoctorFacts {
  mode: 'embedded' | 'distributed';
  nats?: NatsFacts;
  postgres?: PostgresFacts;
  members?: Member[];
  partitions?: number;
  embedded?: { logWritable: boolean; logProblem?: string; freeDiskBytes?: number; minFreeDiskBytes: number };
}

export const MIN_NATS_VERSION = '2.10.23';
export const MIN_REPLICAS = 3;

/** Compares dotted versions numerically ("2.9.10" < "2.10.23"). */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version
    .replace(/^v/, '')
    .split(/[.-]/)
    .map((x) => Number.parseInt(x, 10));
  const b = min.split('.').map((x) => Number(x));
  for (let i = 0; i < b.length; i++) {
    const x = Number.isFinite(a[i]) ? a[i]! : 0;
    if (x !== b[i]) return x > b[i]!;
  }
  return true;
}

function natsChecks(n: NatsFacts): Check[] {
  const out: Check[] = [];
  out.push(
    n.connected && !n.streamProblem
      ? { name: 'nats.stream', status: 'ok', message: `connected to ${n.servers.join(', ')}; stream ${n.streamName} answers` }
      : { name: 'nats.stream', status: 'fail', message: n.streamProblem ?? `not connected to NATS (${n.servers.join(', ')})` },
  );
  const v = n.serverVersion;
  out.push(
    versionAtLeast(v, MIN_NATS_VERSION)
      ? { name: 'nats.version', status: 'ok', message: `nats-server ${v}` }
      : {
          name: 'nats.version',
          status: 'warn',
          message: `nats-server ${v} is older than ${MIN_NATS_VERSION}: versions before it lack the fixes for acknowledged writes lost on crashes (2.10.20-2.10.22 lost whole streams on process crashes; Jepsen 2025). Upgrade before production.`,
        },
  );
  const m = n.monitor;
  if (!versionAtLeast(v, '2.10.0')) {
    out.push({
      name: 'nats.sync',
      status: 'warn',
      message: `nats-server ${v} has no sync_interval setting: JetStream fsyncs lazily (every 2 minutes), so a power failure or kernel crash can lose acknowledged events. Only process crashes are survived.`,
    });
  } else if (!m) {
    out.push({
      name: 'nats.sync',
      status: 'warn',
      message:
        "cannot verify the server fsyncs every write: set nats.monitorUrl (the server's http://host:8222) so Keel can read sync_interval; production needs `sync_interval: always` (or R3 across failure domains, knowingly)",
    });
  } else if ('error' in m) {
    out.push({ name: 'nats.sync', status: 'warn', message: `cannot read the server's monitoring endpoint: ${m.error}` });
  } else if (m.syncAlways) {
    out.push({ name: 'nats.sync', status: 'ok', message: 'JetStream fsyncs every write (sync_interval: always)' });
  } else {
    const every = m.syncIntervalNs ? `${Math.round(m.syncIntervalNs / 1e9)} s` : '2 minutes (the default)';
    out.push({
      name: 'nats.sync',
      status: 'warn',
      message: `JetStream fsyncs every ${every}, not on every write: a power failure or kernel crash can lose acknowledged events. Set \`sync_interval: always\` (or run R3 across failure domains, knowingly).`,
    });
  }
  if (n.stream) {
    out.push(
      n.stream.replicas >= MIN_REPLICAS
        ? { name: 'nats.replicas', status: 'ok', message: `stream ${n.streamName} has ${n.stream.replicas} replicas` }
        : {
            name: 'nats.replicas',
            status: 'warn',
            message: `stream ${n.streamName} has ${n.stream.replicas} replica${n.stream.replicas === 1 ? '' : 's'}; production needs at least ${MIN_REPLICAS} (nats.replicas) on a cluster spread over failure domains`,
          },
    );
    out.push(
      n.stream.storage === 'file'
        ? { name: 'nats.storage', status: 'ok', message: 'file storage' }
        : { name: 'nats.storage', status: 'fail', message: `stream storage is ${n.stream.storage}; Keel needs file storage` },
    );
    if (n.stream.replicas > 1 && n.stream.replicasCurrent !== undefined && n.stream.replicasCurrent < n.stream.replicas - 1) {
      out.push({
        name: 'nats.replicas_current',
        status: 'warn',
        message: `only ${n.stream.replicasCurrent + 1} of ${n.stream.replicas} replicas of ${n.streamName} are current`,
      });
    }
  }
  return out;
}

function postgresChecks(p: PostgresFacts): Check[] {
  if (!p.reachable) return [{ name: 'postgres.reachable', status: 'fail', message: `PostgreSQL unreachable: ${p.error ?? 'unknown error'}` }];
  const out: Check[] = [{ name: 'postgres.reachable', status: 'ok', message: `PostgreSQL ${p.version ?? ''}`.trim() }];
  const off: string[] = [];
  if (p.fsync && p.fsync !== 'on') off.push('fsync is off');
  if (p.synchronousCommit && p.synchronousCommit === 'off') off.push('synchronous_commit is off');
  if (p.fullPageWrites && p.fullPageWrites !== 'on') off.push('full_page_writes is off');
  out.push(
    off.length === 0
      ? { name: 'postgres.durability', status: 'ok', message: 'fsync, synchronous_commit and full_page_writes are on' }
      : { name: 'postgres.durability', status: 'warn', message: `${off.join('; ')}: a crash can lose committed counters and positions` },
  );
  return out;
}

function memberChecks(members: Member[]): Check[] {
  const live = members.filter((m) => m.live);
  const has = (role: string) => live.some((m) => m.role === role || m.role.split(',').includes(role) || m.role === 'all');
  const out: Check[] = [
    {
      name: 'cluster.members',
      status: 'ok',
      message: `${live.length} live process${live.length === 1 ? '' : 'es'}: ${live.map((m) => `${m.role}@${m.host}:${m.pid}`).join(', ') || 'none'}`,
    },
  ];
  if (!has('worker')) out.push({ name: 'cluster.worker', status: 'warn', message: 'no live worker: accepted events are stored but not counted' });
  if (!has('evaluator')) out.push({ name: 'cluster.evaluator', status: 'warn', message: 'no live evaluator: alerts, escalations and retention do not run' });
  return out;
}

export function doctorChecks(f: DoctorFacts): Check[] {
  const out: Check[] = [];
  if (f.embedded) {
    out.push(
      f.embedded.logWritable
        ? { name: 'log.writable', status: 'ok', message: 'embedded event log accepts appends (SQLite, synchronous=FULL)' }
        : { name: 'log.writable', status: 'fail', message: f.embedded.logProblem ?? 'the event log refuses appends' },
    );
    if (f.embedded.freeDiskBytes !== undefined) {
      out.push(
        f.embedded.freeDiskBytes >= f.embedded.minFreeDiskBytes * 2
          ? { name: 'disk.free', status: 'ok', message: `${Math.round(f.embedded.freeDiskBytes / 1024 ** 3)} GiB free` }
          : {
              name: 'disk.free',
              status: 'warn',
              message: `${Math.round(f.embedded.freeDiskBytes / 1024 ** 2)} MiB free; ingest stops below ${Math.round(f.embedded.minFreeDiskBytes / 1024 ** 2)} MiB`,
            },
      );
    }
  }
  if (f.nats) out.push(...natsChecks(f.nats), ...replicaChecks(f.nats.replicaStates, f.nats.stream?.replicas));
  if (f.postgres) out.push(...postgresChecks(f.postgres));
  if (f.members) out.push(...memberChecks(f.members));
  return out;
}
