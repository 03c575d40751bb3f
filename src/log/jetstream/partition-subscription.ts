/**
 * A processor's durable pull consumer on one partition. Every worker subscribes to the same
 * consumer; `max_ack_pending: 1` lets the server hand out one batch at a time, so batches of a
 * partition are processed in order by whichever live worker pulls next, and a batch held by a
 * worker that died is redelivered to another after `ack_wait`. The worker acknowledges only after
 * its results and the batch's sequence committed in PostgreSQL; a redelivery of something already
 * committed is recognised by that position and skipped.
 */
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { Logger } from '../../telemetry/logger.js';
import type { LogDelivery, LogSubscription } from '../event-log.js';
import { toLogBatch } from './batch-message.js';
import { consumerName, partitionFilter, type SubjectScheme } from './subjects.js';

export interface SubscriptionDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  scheme: SubjectScheme;
  ackWaitMs: number;
  logger: Logger;
  onDelivered?: (events: number) => void;
}

const ns = (ms: number) => Math.round(ms * 1e6);

export async function ensurePartitionConsumer(
  d: SubscriptionDeps,
  processor: string,
  partition: number,
  committed: () => Promise<number>,
): Promise<string> {
  const name = consumerName(processor, partition);
  let info: ConsumerInfo | undefined;
  try {
    info = await d.jsm.consumers.info(d.stream, name);
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound)) throw e;
  }
  // Read after the consumer's state: a worker acks only after committing, so the committed
  // position is at least the ack floor unless the state store lost commits (restored backup).
  const position = await committed();
  if (info && info.ack_floor.stream_seq > position) {
    d.logger.warn(
      { consumer: name, ackFloor: info.ack_floor.stream_seq, committed: position },
      'consumer is ahead of the committed position; recreating it so nothing goes uncounted',
    );
    await d.jsm.consumers.delete(d.stream, name).catch(() => undefined);
    info = undefined;
  }
  if (!info) {
    try {
      await d.jsm.consumers.add(d.stream, {
        durable_name: name,
        filter_subject: partitionFilter(d.scheme, partition),
        ack_policy: AckPolicy.Explicit,
        max_ack_pending: 1,
        ack_wait: ns(d.ackWaitMs),
        max_deliver: -1,
        replay_policy: ReplayPolicy.Instant,
        ...(position > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: position + 1 } : { deliver_policy: DeliverPolicy.All }),
      });
    } catch (e) {
      // Another worker created it a moment earlier.
      if (!(e instanceof JetStreamApiError) || !/already (exists|in use)/i.test(e.message)) throw e;
    }
  } else if (info.config.ack_wait !== ns(d.ackWaitMs)) {
    await d.jsm.consumers.update(d.stream, name, { ack_wait: ns(d.ackWaitMs) });
  }
  return name;
}

export async function openPartitionSubscription(
  d: SubscriptionDeps,
  processor: string,
  partition: number,
  committed: () => Promise<number>,
): Promise<LogSubscription> {
  const name = await ensurePartitionConsumer(d, processor, partition, committed);
  const consumer = await d.js.consumers.get(d.stream, name);
  return {
    next: async (maxWaitMs) => {
      const m = await consumer.next({ expires: Math.max(1_000, maxWaitMs) });
      if (!m) return undefined;
      const batch = toLogBatch(d.scheme, { seq: m.seq, subject: m.subject, data: m.data, header: m.headers });
      if (!batch) {
        // Not a Keel batch (someone published by hand on Keel's subjects): never deliver it again.
        d.logger.error({ consumer: name, seq: m.seq, subject: m.subject }, 'skipping a message that is not a Keel batch');
        m.term('not a Keel batch');
        return undefined;
      }
      d.onDelivered?.(batch.count);
      const delivery: LogDelivery = {
        batches: [batch],
        ack: async () => m.ack(),
        retry: (delayMs) => m.nak(delayMs),
        working: () => m.working(),
      };
      return delivery;
    },
    close: async () => undefined,
  };
}
