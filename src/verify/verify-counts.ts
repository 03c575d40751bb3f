/**
 * `keel verify counts` composed: the usage check (capacity/) and the SLO check (slo/) run over one
 * snapshot and one pass of the log (processing/count-check.ts). Each domain reads its own tables;
 * this folder only wires them together.
 */
import { UsageCountCheck, type UsageVerifyReport } from '../capacity/verify-counts.js';
import type { EventLog } from '../log/event-log.js';
import { runCountChecks } from '../processing/count-check.js';
import { SloCountCheck, type SloVerifyReport } from '../slo/verify-counts.js';
import type { Store } from '../store/store.js';

export interface VerifyCountsResult {
  /** The log holds every batch that arrived from here on; undefined when it holds all it ever took. */
  logCompleteFrom: number | undefined;
  partitions: { partition: number; positions: Record<string, number>; batchesRead: number }[];
  usage: UsageVerifyReport;
  slo: SloVerifyReport;
}

export class VerifyCountsService {
  constructor(private readonly deps: { log: EventLog; store: Store; usageRetentionMs: number }) {}

  async run(since: number, now: number): Promise<VerifyCountsResult> {
    const usage = new UsageCountCheck(this.deps.usageRetentionMs);
    const slo = new SloCountCheck();
    const run = await runCountChecks({ log: this.deps.log, store: this.deps.store, since, now, checks: [usage, slo] });
    return { logCompleteFrom: run.range.logCoveredFrom, partitions: run.partitions, usage: usage.result(), slo: slo.result() };
  }
}
