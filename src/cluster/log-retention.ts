/**
 * Retention of the distributed log, run by the evaluator leader. JetStream removes messages older
 * than retention.maxAge by itself (stream max_age). This loop adds what JetStream cannot know:
 * over retention.maxBytes, the oldest messages are purged, but never one a processor has not
 * committed past (the embedded log's rule); and idempotency answers older than their TTL go.
 */
import type { KeelConfig } from '../core/config.js';
import type { LeaderLease } from '../module/context.js';
import { pause } from '../core/pause.js';
import type { JetStreamEventLog } from '../log/jetstream/jetstream-event-log.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';

/** The first sequence to keep: enough purged to get under maxBytes, nothing a consumer still needs. */
export function purgeFloor(o: {
  firstSeq: number;
  lastSeq: number;
  messages: number;
  bytes: number;
  maxBytes: number;
  /** Per consumer and partition: its committed position, and whether it has anything pending. */
  consumers: { position: number; pending: boolean }[];
}): number | undefined {
  if (o.maxBytes <= 0 || o.bytes <= o.maxBytes || o.messages === 0) return undefined;
  const avg = o.bytes / o.messages;
  const drop = Math.ceil((o.bytes - o.maxBytes) / avg);
  let keepFrom = o.firstSeq + drop;
  for (const c of o.consumers) keepFrom = Math.min(keepFrom, c.pending ? c.position + 1 : o.lastSeq + 1);
  return keepFrom > o.firstSeq ? keepFrom : undefined;
}

export async function logRetentionLoop(o: { log: JetStreamEventLog; store: Store; config: KeelConfig; logger: Logger; intervalMs: number }, lease: LeaderLease): Promise<void> {
  while (!lease.signal.aborted) {
    try {
      await o.store.db.transaction().execute(async (trx) => {
        await lease.assertHeld(trx);
        const r = await trx
          .deleteFrom('ingest_idempotency')
          .where('created_at', '<', Date.now() - o.config.idempotency.ttl)
          .executeTakeFirst();
        if (Number(r.numDeletedRows) > 0) o.logger.info({ answers: Number(r.numDeletedRows) }, 'expired idempotency answers removed');
      });
      const info = await o.log.streamInfo();
      const stats = await o.log.stats();
      const floor = purgeFloor({
        firstSeq: info.state.first_seq,
        lastSeq: info.state.last_seq,
        messages: info.state.messages,
        bytes: info.state.bytes,
        maxBytes: o.config.log.retention.maxBytes,
        consumers: stats.consumers.map((c) => ({ position: c.position, pending: c.lagEvents > 0 })),
      });
      if (floor !== undefined && !lease.signal.aborted) {
        const purged = await o.log.purgeBefore(floor);
        o.logger.info({ purged, keepFrom: floor }, 'log retention purged the oldest batches');
      } else if (info.state.bytes > o.config.log.retention.maxBytes && o.config.log.retention.maxBytes > 0) {
        o.logger.warn('log retention is held back by a consumer that has not caught up');
      }
    } catch (err) {
      o.logger.warn({ err }, 'log retention sweep failed');
    }
    await pause(o.intervalMs, lease.signal);
  }
}
