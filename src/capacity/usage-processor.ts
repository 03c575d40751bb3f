/**
 * The `usage` processor: counts events and bytes per tenant per minute of arrival. It runs under
 * the processor runner's exactly-once contract (counters and position in one transaction), so
 * its counters equal what ingest acknowledged, whatever crashes; the fault tests rely on that.
 */
import type { BatchProcessor } from '../processing/processor.js';
import { foldUsage } from './usage-fold.js';

export const USAGE_PROCESSOR = 'usage';

export function usageProcessor(): BatchProcessor {
  return {
    name: USAGE_PROCESSOR,
    // Counts and sizes are in the batch headers: on JetStream the events themselves are not sent.
    readsData: false,
    async process(trx, batches) {
      const rows = foldUsage(batches);
      if (rows.length === 0) return;
      await trx
        .insertInto('usage_minutes')
        .values(rows.map((r) => ({ tenant_id: r.tenant, minute: r.minute, partition: r.partition, events: r.events, bytes: r.bytes })))
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'minute', 'partition']).doUpdateSet((eb) => ({
            events: eb('usage_minutes.events', '+', eb.ref('excluded.events')),
            bytes: eb('usage_minutes.bytes', '+', eb.ref('excluded.bytes')),
          })),
        )
        .execute();
    },
  };
}
