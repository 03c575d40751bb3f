/**
 * Idempotency answers of the distributed ingest, in PostgreSQL so that every ingest instance
 * gives a retried request the same answer for 24 h (JetStream's duplicate window is minutes and
 * remembers ids, not answers).
 */
export interface IngestIdempotencyTable {
  tenant_id: string;
  key: string;
  /** sha256 of the request body: a key reused for another body is refused. */
  body_hash: string;
  /** The 202 answer; null while the batch is being published (or its publisher died). */
  response: string | null;
  /** Deterministic batch id: every attempt publishes the same message ids. */
  batch_id: string;
  created_at: number;
}

/**
 * Which worker processes which partition of a processor's consumer. A lease expires unless its
 * owner renews it; every claim raises the epoch, and a worker's transactions check the epoch is
 * still theirs (fencing), so a deposed owner can never commit. Times are the database's clock.
 */
export interface PartitionLeasesTable {
  consumer: string;
  partition: number;
  owner: string;
  epoch: number;
  expires_at: number;
}

/** Workers subscribed to a consumer, each refreshing its row: the live ones share the partitions. */
export interface LogWorkersTable {
  consumer: string;
  worker: string;
  seen_at: number;
}

export interface JetStreamLogTables {
  ingest_idempotency: IngestIdempotencyTable;
  partition_leases: PartitionLeasesTable;
  log_workers: LogWorkersTable;
}
