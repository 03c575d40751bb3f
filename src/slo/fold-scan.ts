/** Reading a batch's events into records with their 10 s bucket of event time. */
import { parseRfc3339 } from '../core/time.js';
import type { CelRecord, CelValue } from '../cel/values.js';
import type { LogBatch } from '../log/event-log.js';
import type { TenantPlan } from './compiled.js';
import { FINE_MS } from './windows.js';

/** Event time: `ts` as epoch ms or RFC 3339, else when the batch was received. */
export function eventTime(ts: CelValue, receivedAt: number): number {
  if (typeof ts === 'number') return ts;
  if (typeof ts === 'string') {
    const t = parseRfc3339(ts);
    return Number.isNaN(t) ? receivedAt : t;
  }
  return receivedAt;
}

export /** Scans a batch's events, calling `each` with the record and its 10 s bucket; returns the count. */
function scanBatch(plan: TenantPlan, batch: LogBatch, each: (record: CelRecord, bucket: number) => void): number {
  const scanner = plan.scanner;
  scanner.reset(batch.data);
  const record: CelRecord = new Array<CelValue>(plan.slots.size);
  const receivedAt = batch.receivedAt;
  let events = 0;
  let lastTs: CelValue = undefined;
  let lastBucket = 0;
  while (scanner.next(record)) {
    events++;
    const ts = record[0];
    // Consecutive events often share a timestamp text; parsing it once per run saves time.
    let bucket: number;
    if (ts === lastTs && ts !== undefined) bucket = lastBucket;
    else {
      const t = eventTime(ts, receivedAt);
      bucket = t - (((t % FINE_MS) + FINE_MS) % FINE_MS);
      lastTs = ts;
      lastBucket = bucket;
    }
    each(record, bucket);
  }
  return events;
}
