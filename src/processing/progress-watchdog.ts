/**
 * The progress watchdog of a subscribed runner (JetStream): a partition this worker holds whose
 * committed position does not move while the log holds batches beyond it is stalled — a pull that
 * never returns, a consumer that delivers nothing after the process resumed from a stall. After
 * `stallMs` the runner logs it (partition and reason) and starts the partition's subscription
 * again from the committed position; `keel_log_partition_stalled_seconds` shows how long each
 * partition has been stalled. Pure: the runner feeds it positions, ownership and log ends.
 */

export interface PartitionWatch {
  /** Committed position when last seen. */
  position: number;
  /** Since when (ms) the partition has not advanced while it had a backlog (reset when it moves, catches up or is not held). */
  since: number;
}

export interface Observation {
  owned: boolean;
  position: number;
  /** Last position the log holds for the partition. */
  logEnd: number;
}

/** Updates the watch with what is seen at `now`; returns how long (ms) the partition has been stalled (0: it is not). */
export function observe(w: PartitionWatch, o: Observation, now: number): number {
  if (!o.owned || o.position >= o.logEnd || o.position !== w.position) {
    w.position = o.position;
    w.since = now;
    return 0;
  }
  return now - w.since;
}
