/**
 * Which chunks of one batch a stream holds, judged by the stream leader. The bulk of the search
 * reads a temporary consumer, which nats-server places on any replica of the stream (2.9: an
 * ephemeral consumer is R1, on a peer of its choosing, reading that peer's copy). A replica can
 * lag the leader (it lacks the newest messages) or, after a frozen or killed peer on nats-server
 * 2.9.10, disagree with it (it holds a message the leader lost). Either would make the answer
 * wrong where it matters most: an interrupted request settled as stored when the leader lost it
 * (an acknowledged event gone), or a reader skipping a message as the copy of one the leader does
 * not hold (a batch counted that `keel verify counts` cannot find). So:
 *
 *  1. the consumer's pages are read up to the end of the range;
 *  2. a range it ended short of (a lagging replica, or simply no later message) is finished from
 *     the leader, from just after the last message it gave;
 *  3. every chunk found is checked at the leader (same sequence, same message id); one that is not
 *     there means the replica disagrees, and the whole range is read from the leader instead.
 *
 * In the usual case (a current replica) that costs the leader one read per chunk found plus one.
 * No I/O here: `ChunkReads` is the stream (in-doubt.ts) or a test's arrays.
 */

/** One stored message of the searched subject. */
export interface SeenMessage {
  seq: number;
  /** When the stream stored it (ms). */
  time: number;
  /** The batch it belongs to (Keel's batch header), if any. */
  batchId: string | undefined;
  /** Its `Nats-Msg-Id`: `<batch id>.<chunk index>` for Keel's messages. */
  msgId: string;
}

export interface ChunkReads {
  /** Pages of the subject's messages stored from `from` (ms) on, in stream order, from any replica; ends with the replica's last. */
  scan(from: number): AsyncIterable<readonly SeenMessage[]>;
  /** The leader's first message of the subject at or after `seq`, if any. */
  leaderNext(seq: number): Promise<SeenMessage | undefined>;
  /** The leader's first and last sequence. */
  leaderBounds(): Promise<{ first: number; last: number }>;
}

export interface ChunkSearch {
  batchId: string;
  /** Messages stored from here on (ms) are searched. */
  from: number;
  /** Messages stored after this (ms) are not. */
  until: number;
  /** Nor messages at or after this sequence. */
  beforeSeq?: number;
}

export interface ChunkSearchResult {
  /** Sequence of the first copy of each chunk index the leader holds. */
  seqs: Map<number, number>;
  /** How the answer was reached: all from the replica, finished from the leader, or all from the leader (the replica disagreed). */
  source: 'replica' | 'replica+leader' | 'leader';
}

export async function searchChunks(reads: ChunkReads, o: ChunkSearch): Promise<ChunkSearchResult> {
  const beforeSeq = o.beforeSeq ?? Number.POSITIVE_INFINITY;
  const beyond = (m: SeenMessage) => m.time > o.until || m.seq >= beforeSeq;
  const found = new Map<number, number>();
  let last: number | undefined;
  let reachedEnd = false;
  pages: for await (const page of reads.scan(o.from)) {
    for (const m of page) {
      if (beyond(m)) {
        reachedEnd = true;
        break pages;
      }
      last = m.seq;
      record(found, m, o.batchId);
    }
  }
  let source: ChunkSearchResult['source'] = 'replica';
  if (!reachedEnd) {
    // The replica had nothing more: the leader may (a lagging replica). Usually one read says no.
    const start = last === undefined ? await firstAtOrAfter(reads, o.from) : last + 1;
    if (await readLeader(reads, start, beyond, found, o.batchId)) source = 'replica+leader';
  }
  for (const [index, seq] of found) {
    const atLeader = await reads.leaderNext(seq);
    if (atLeader?.seq !== seq || atLeader.msgId !== `${o.batchId}.${index}`) {
      // The replica holds a chunk the leader does not: it disagrees, so none of it is trusted.
      const fromLeader = new Map<number, number>();
      await readLeader(reads, await firstAtOrAfter(reads, o.from), beyond, fromLeader, o.batchId);
      return { seqs: fromLeader, source: 'leader' };
    }
  }
  return { seqs: found, source };
}

/** The first copy of each chunk of the batch. */
function record(found: Map<number, number>, m: SeenMessage, batchId: string): void {
  if (m.batchId !== batchId) return;
  const index = Number(m.msgId.slice(m.msgId.lastIndexOf('.') + 1));
  if (Number.isInteger(index) && !found.has(index)) found.set(index, m.seq);
}

/** Reads the leader's messages of the subject from `start` to the end of the range; whether it held any. */
async function readLeader(reads: ChunkReads, start: number, beyond: (m: SeenMessage) => boolean, found: Map<number, number>, batchId: string): Promise<boolean> {
  let any = false;
  for (let seq = start; ;) {
    const m = await reads.leaderNext(seq);
    if (!m || beyond(m)) return any;
    any = true;
    record(found, m, batchId);
    seq = m.seq + 1;
  }
}

/**
 * The leader's first sequence whose next message of the subject was stored at or after `from`
 * (binary search: stored times rise with the sequence). Messages of the subject before it are
 * older than `from`.
 */
async function firstAtOrAfter(reads: ChunkReads, from: number): Promise<number> {
  const { first, last } = await reads.leaderBounds();
  let lo = Math.max(1, first);
  let hi = last + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const m = await reads.leaderNext(mid);
    if (!m || m.time >= from) hi = mid;
    else lo = Math.min(hi, m.seq + 1);
  }
  return lo;
}
