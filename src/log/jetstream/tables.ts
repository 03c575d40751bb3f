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

export interface JetStreamLogTables {
  ingest_idempotency: IngestIdempotencyTable;
}
