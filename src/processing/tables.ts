/**
 * Where each consumer of an ordered stream (a log partition, the alert transitions) has got to.
 * A consumer writes its position in the same transaction as the results of what it read, so a
 * crash or a replay can never apply anything twice.
 */
export interface PositionsTable {
  consumer: string;
  partition: number;
  position: number;
  updated_at: number;
}

/** Ids of batches a consumer counted, kept for a while (see counted-batches.ts). */
export interface CountedBatchesTable {
  consumer: string;
  id: string;
  position: number;
  counted_at: number;
}

export interface ProcessingTables {
  positions: PositionsTable;
  counted_batches: CountedBatchesTable;
}
