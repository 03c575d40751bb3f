/** Tables that coordinate the distributed roles. */
import type { Generated } from 'kysely';

/** One token bucket per tenant shared by every ingest instance (they lease tokens in chunks). */
export interface QuotaBucketsTable {
  tenant_id: string;
  tokens: number;
  updated_at: number;
}

/**
 * Who held a leadership when: a row per tenure, its beat advanced while the lock is held (the
 * update is fenced by the lock). Operators read it to see the leader; tests check tenures never
 * overlap.
 */
export interface LeaderTenuresTable {
  id: Generated<number>;
  name: string;
  holder: string;
  started_at: number;
  beat_at: number;
  ended_at: number | null;
}

/**
 * The lease of one leadership: held by `holder` until `expires_at` (epoch ms in the database's
 * clock); `epoch` grows at every change of holder, and leader writes check it in their own
 * transaction (fencing).
 */
export interface LeaderLeasesTable {
  name: string;
  holder: string;
  epoch: number;
  expires_at: number;
  tenure_id: number;
}

/** The live processes of the cluster, each refreshing its row; `keel doctor` lists them. */
export interface ClusterMembersTable {
  id: string;
  role: string;
  host: string;
  pid: number;
  url: string;
  version: string;
  started_at: number;
  seen_at: number;
}

/** Settings every process must agree on (the partition count), recorded by the first. */
export interface ClusterSettingsTable {
  key: string;
  value: string;
}

export interface ClusterTables {
  quota_buckets: QuotaBucketsTable;
  leader_tenures: LeaderTenuresTable;
  leader_leases: LeaderLeasesTable;
  cluster_members: ClusterMembersTable;
  cluster_settings: ClusterSettingsTable;
}
