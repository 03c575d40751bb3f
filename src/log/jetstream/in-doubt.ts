/**
 * Settles an idempotent request whose first attempt died between its publish and its answer, when
 * the retry comes after JetStream's duplicate window (which would otherwise store it twice): the
 * attempt published, if at all, within `publishTimeout` of its reservation, on one tenant subject
 * of one partition, so a short scan of that subject from that moment finds its messages.
 */
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { batchIdOf } from './batch-message.js';

export interface FoundChunks {
  /** Sequence of each chunk index already stored. */
  seqs: Map<number, number>;
}

export async function findPublishedChunks(
  js: JetStreamClient,
  jsm: JetStreamManager,
  o: { stream: string; subject: string; batchId: string; from: number; until: number; /** Stop at this sequence. */ beforeSeq?: number },
): Promise<FoundChunks> {
  const seqs = new Map<number, number>();
  const info = await jsm.consumers.add(o.stream, {
    filter_subject: o.subject,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(o.from).toISOString(),
    inactive_threshold: 30_000 * 1e6,
    mem_storage: true,
  });
  try {
    const consumer = await js.consumers.get(o.stream, info.name);
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 256, expires: 1_000 });
      let n = 0;
      let pastEnd = false;
      for await (const m of batch) {
        n++;
        if (m.time.getTime() > o.until || (o.beforeSeq !== undefined && m.seq >= o.beforeSeq)) pastEnd = true;
        if (o.beforeSeq !== undefined && m.seq >= o.beforeSeq) continue;
        if (batchIdOf(m.headers) !== o.batchId) continue;
        const id = m.headers?.get('Nats-Msg-Id') ?? '';
        const index = Number(id.slice(id.lastIndexOf('.') + 1));
        // The first copy of each chunk.
        if (Number.isInteger(index) && !seqs.has(index)) seqs.set(index, m.seq);
      }
      if (n === 0 || pastEnd) break;
    }
  } finally {
    await jsm.consumers.delete(o.stream, info.name).catch(() => undefined);
  }
  return { seqs };
}
