/**
 * Settles an idempotent request whose first attempt died between its publish and its answer, when
 * the retry comes after JetStream's duplicate window (which would otherwise store it twice), and
 * tells a reader whether a republished message is a copy: the attempt published, if at all, within
 * `publishTimeout` of its reservation, on one tenant subject of one partition, so a short search of
 * that subject from that moment finds its messages. The search itself (and why the leader judges
 * it) is chunk-search.ts; this file reads the stream for it.
 */
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, type MsgRequest, type NextMsgRequest } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { KeelError } from '../../core/errors.js';
import { batchIdOf } from './batch-message.js';
import { searchChunks, type ChunkReads, type ChunkSearchResult, type SeenMessage } from './chunk-search.js';

export type FoundChunks = ChunkSearchResult;

/**
 * The chunks of `o.batchId` the stream leader holds. A stream that does not answer (a leader
 * changing, NATS down) is `unavailable` (retry later), never an internal error: the caller's
 * reservation stays, so the retry searches again.
 */
export async function findPublishedChunks(
  js: JetStreamClient,
  jsm: JetStreamManager,
  o: { stream: string; subject: string; batchId: string; from: number; until: number; /** Stop at this sequence. */ beforeSeq?: number },
): Promise<FoundChunks> {
  try {
    return await searchChunks(streamChunkReads(js, jsm, o.stream, o.subject), o);
  } catch (e) {
    if (e instanceof KeelError) throw e;
    throw new KeelError('unavailable', `cannot search the event log for batch ${o.batchId}: ${(e as Error).message}`, { retryAfterSeconds: 2, cause: e });
  }
}

function seen(m: { seq: number; time: Date; headers?: MsgHdrs | undefined }): SeenMessage {
  return { seq: m.seq, time: m.time.getTime(), batchId: batchIdOf(m.headers), msgId: m.headers?.get('Nats-Msg-Id') ?? '' };
}

function streamChunkReads(js: JetStreamClient, jsm: JetStreamManager, stream: string, subject: string): ChunkReads {
  return {
    async *scan(from) {
      const info = await jsm.consumers.add(stream, {
        filter_subject: subject,
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: new Date(from).toISOString(),
        inactive_threshold: 30_000 * 1e6,
        mem_storage: true,
      });
      try {
        const consumer = await js.consumers.get(stream, info.name);
        for (;;) {
          const page: SeenMessage[] = [];
          for await (const m of await consumer.fetch({ max_messages: 256, expires: 1_000 })) page.push(seen({ seq: m.seq, time: m.time, headers: m.headers }));
          if (page.length === 0) return;
          yield page;
        }
      } finally {
        await jsm.consumers.delete(stream, info.name).catch(() => undefined);
      }
    },
    async leaderNext(seq) {
      // The stream leader answers MSG.GET (next_by_subj since 2.9; the client's type lists only seq/last_by_subj).
      const request: NextMsgRequest = { seq, next_by_subj: subject };
      const m = await jsm.streams.getMessage(stream, request as unknown as MsgRequest);
      return m ? seen({ seq: m.seq, time: m.time, headers: m.header }) : undefined;
    },
    async leaderBounds() {
      const state = (await jsm.streams.info(stream)).state;
      return { first: state.first_seq, last: state.last_seq };
    },
  };
}
