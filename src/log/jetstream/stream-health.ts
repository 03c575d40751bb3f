/**
 * Whether the stream can commit appends, from its info as the stream leader reports it. A
 * replicated stream whose leader lives but whose followers are gone still answers info requests,
 * yet every append waits for a quorum that never comes; ingest must stop admitting then (a 503 at
 * the headers) rather than let each request wait out its publish timeout.
 */
import type { StreamInfo } from '@nats-io/jetstream';

/** A follower not heard from for this long no longer counts towards the quorum. */
export const REPLICA_STALE_MS = 3_000;

export function streamQuorumProblem(info: StreamInfo, staleMs = REPLICA_STALE_MS): string | undefined {
  const replicas = info.config.num_replicas ?? 1;
  if (replicas <= 1) return undefined;
  const name = info.config.name;
  if (!info.cluster?.leader) return `stream ${name} has no leader (an election is under way or the cluster lost its quorum)`;
  // `active` is nanoseconds since the leader last heard from the follower.
  const followers = (info.cluster.replicas ?? []).filter((p) => p.current && !p.offline && (p.active ?? 0) / 1e6 < staleMs).length;
  const quorum = Math.floor(replicas / 2) + 1;
  if (1 + followers >= quorum) return undefined;
  return `stream ${name} has no quorum: ${1 + followers} of ${replicas} replicas reachable, ${quorum} needed to store an append`;
}
