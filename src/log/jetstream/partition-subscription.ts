/**
 * A processor's share of one partition: its durable pull consumer, read by the one worker that
 * leases the partition (partition-leases.ts). On each new lease the worker recreates the consumer
 * from the committed position (so delivery restarts exactly after what was counted, whatever a
 * previous owner had in flight), then pulls batches of up to `maxBatch` messages: one message,
 * then as many as the server says are pending, so a delivery never waits to fill up. The worker
 * acknowledges (ack-all, the last message) only after the batch's results and position committed.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, ReplayPolicy, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../telemetry/logger.js';
import type { LogBatch, LogDelivery, LogSubscription } from '../event-log.js';
import { toLogBatch } from './batch-message.js';
import type { PartitionLeases } from './partition-leases.js';
import { consumerName, partitionFilter, type SubjectScheme } from './subjects.js';

export interface SubscriptionDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  scheme: SubjectScheme;
  ackWaitMs: number;
  maxBatch: number;
  /** Deliver headers only (the processor counts, it does not read the events); asked at each (re)creation. */
  headersOnly: () => boolean;
  leases: PartitionLeases;
  logger: Logger;
  onDelivered?: (events: number) => void;
}

const ns = (ms: number) => Math.round(ms * 1e6);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Recreates the partition's durable consumer to deliver from just after `position`. */
export async function resetPartitionConsumer(d: SubscriptionDeps, processor: string, partition: number, position: number, headersOnly = d.headersOnly()): Promise<Consumer> {
  const name = consumerName(processor, partition);
  try {
    await d.jsm.consumers.delete(d.stream, name);
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound)) throw e;
  }
  await d.jsm.consumers.add(d.stream, {
    durable_name: name,
    filter_subject: partitionFilter(d.scheme, partition),
    ack_policy: AckPolicy.All,
    max_ack_pending: d.maxBatch * 2,
    ack_wait: ns(d.ackWaitMs),
    max_deliver: -1,
    replay_policy: ReplayPolicy.Instant,
    headers_only: headersOnly,
    ...(position > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: position + 1 } : { deliver_policy: DeliverPolicy.All }),
  });
  return d.js.consumers.get(d.stream, name);
}

export function openPartitionSubscription(d: SubscriptionDeps, processor: string, partition: number, committed: () => Promise<number>): LogSubscription {
  const name = consumerName(processor, partition);
  let consumer: Consumer | undefined;
  let consumerEpoch: number | undefined;
  let consumerHeadersOnly = false;
  let resetAfter = 0;

  const batchOf = (m: JsMsg): LogBatch | undefined => {
    const b = toLogBatch(d.scheme, { seq: m.seq, subject: m.subject, data: m.data, header: m.headers });
    if (!b) d.logger.error({ consumer: name, seq: m.seq, subject: m.subject }, 'skipping a message that is not a Keel batch');
    return b;
  };

  return {
    next: async (maxWaitMs) => {
      const epoch = d.leases.epochOf(partition);
      if (epoch === undefined || !d.leases.mayPull(partition)) {
        consumer = undefined;
        await sleep(Math.min(maxWaitMs, 250));
        return undefined;
      }
      if (d.leases.shouldRelease(partition)) {
        consumer = undefined;
        await d.leases.release(partition);
        return undefined;
      }
      const headersOnly = d.headersOnly();
      if (!consumer || consumerEpoch !== epoch || resetAfter > 0 || headersOnly !== consumerHeadersOnly) {
        if (Date.now() < resetAfter) {
          await sleep(Math.min(maxWaitMs, resetAfter - Date.now()));
          return undefined;
        }
        consumer = undefined;
        // Read after the lease was won: anything a previous owner committed is included.
        consumer = await resetPartitionConsumer(d, processor, partition, await committed(), headersOnly);
        consumerEpoch = epoch;
        consumerHeadersOnly = headersOnly;
        resetAfter = 0;
        if (!d.leases.mayPull(partition)) return undefined;
      }
      let first: JsMsg | null;
      try {
        first = await consumer.next({ expires: Math.max(1_000, Math.min(maxWaitMs, 5_000)) });
      } catch (e) {
        consumer = undefined;
        throw e;
      }
      if (!first) return undefined;
      const messages = [first];
      const more = Math.min(first.info.pending, d.maxBatch - 1);
      if (more > 0 && d.leases.mayPull(partition)) {
        // The server said these are there: the fetch completes as soon as they arrive.
        const rest = await consumer.fetch({ max_messages: more, expires: 5_000 });
        for await (const m of rest) messages.push(m);
      }
      const batches: LogBatch[] = [];
      for (const m of messages) {
        const b = batchOf(m);
        if (b) batches.push(b);
      }
      for (const b of batches) d.onDelivered?.(b.count);
      // Ack-all covers every message up to the one acknowledged: the highest sequence, which is not
      // the last one handed when a redelivered message follows newer ones.
      const last = messages.reduce((a, m) => (m.seq > a.seq ? m : a));
      const delivery: LogDelivery = {
        batches,
        fence: (db) => d.leases.fence(db, partition, epoch),
        ack: async () => last.ack(),
        retry: (delayMs) => {
          // Start again from the committed position after the pause: nothing is skipped.
          resetAfter = Date.now() + delayMs;
        },
        working: () => {
          for (const m of messages) m.working();
        },
      };
      return delivery;
    },
    owned: () => d.leases.epochOf(partition) !== undefined,
    close: async () => undefined,
  };
}
