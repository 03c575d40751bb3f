/**
 * The distributed event log on NATS JetStream: one file-backed stream, a subject tree per
 * partition, a batch per message (several when it exceeds the server's max_payload), the stream
 * sequence as the position. `append` resolves only after JetStream acknowledged every message of
 * the batch; idempotency answers live in the state store (see idempotency.ts).
 */
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type MsgRequest, type NextMsgRequest, type StreamInfo } from '@nats-io/jetstream';
import { KeelError } from '../../core/errors.js';
import { readPosition } from '../../processing/positions.js';
import type { Store } from '../../store/store.js';
import type { Logger } from '../../telemetry/logger.js';
import type {
  AppendBatch,
  AppendOptions,
  AppendResult,
  ConsumerState,
  EventLog,
  LogBatch,
  LogHealth,
  LogStats,
  LogSubscription,
  ReadOptions,
  SubscribeOptions,
  TenantReadOptions,
} from '../event-log.js';
import { HDR_REPUBLISHED, batchHeaders, toLogBatch } from './batch-message.js';
import { splitBatch } from './chunks.js';
import { connectNats, type NatsLink, type NatsSettings } from './connection.js';
import { IdempotencyAnswers } from './idempotency.js';
import { findPublishedChunks } from './in-doubt.js';
import { PartitionLeases } from './partition-leases.js';
import { openPartitionSubscription } from './partition-subscription.js';
import { streamQuorumProblem } from './stream-health.js';
import { ensureStream, type StreamSettings } from './stream-setup.js';
import { eventSubject, parseConsumerName, partitionFilter, partitionOf, tenantFilter, type SubjectScheme } from './subjects.js';

export interface JetStreamEventLogOptions {
  nats: NatsSettings;
  stream: StreamSettings;
  ackWaitMs: number;
  publishTimeoutMs: number;
  /** Appends are refused (503) while a consumer is this many events behind (estimated). 0 = none. */
  maxLagEvents: number;
  /** The largest event ingest accepts: it must fit in one message. */
  maxEventBytes: number;
  store: Store;
  logger: Logger;
  /** This process in the partition leases (default: a random id). */
  workerId?: string;
  /** A worker's partitions go to the others this long after it stops renewing (default 5 s). */
  leaseMs?: number;
  /** Most batches folded in one processing transaction (default 32). */
  maxBatch?: number;
}

/** What `keel doctor` checks about the log. */
export interface JetStreamFacts {
  serverVersion: string;
  servers: string[];
  connected: boolean;
  stream: StreamInfo | undefined;
  streamProblem: string | undefined;
}

/** Room left in a message for headers: max_payload covers headers and payload together. */
const HEADER_ROOM = 4096;

export class JetStreamEventLog implements EventLog {
  readonly partitions: number;
  private readonly scheme: SubjectScheme;
  private readonly answers: IdempotencyAnswers;
  private readonly chunkBytes: number;
  private streamOk = true;
  private streamProblem: string | undefined;
  private lastStreamInfo: StreamInfo | undefined;
  private maxLag = 0;
  private laggingConsumer = '';
  private eventsPerMessage = 1;
  private statsCache: { at: number; stats: LogStats } | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly leases = new Map<string, PartitionLeases>();
  private readonly workerId: string;
  private closed = false;

  private constructor(
    private readonly o: JetStreamEventLogOptions,
    private readonly link: NatsLink,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {
    this.scheme = o.stream.scheme;
    this.partitions = o.stream.scheme.partitions;
    this.answers = new IdempotencyAnswers(o.store);
    this.workerId = o.workerId ?? `worker-${randomBytes(6).toString('base64url')}`;
    const maxPayload = link.nc.info?.max_payload ?? 1024 * 1024;
    this.chunkBytes = maxPayload - HEADER_ROOM;
    if (o.maxEventBytes > this.chunkBytes) {
      throw new KeelError(
        'validation_failed',
        `ingest.maxEventBytes (${o.maxEventBytes}) exceeds what one NATS message holds (${this.chunkBytes} bytes with max_payload ${maxPayload}); lower it or raise max_payload on the server`,
      );
    }
  }

  static async open(o: JetStreamEventLogOptions): Promise<JetStreamEventLog> {
    if (o.store.engine !== 'postgres') throw new KeelError('validation_failed', 'the JetStream event log keeps its leases and answers in PostgreSQL');
    const link = await connectNats(o.nats, o.logger);
    try {
      const jsm = await jetstreamManager(link.nc, { timeout: 5_000 });
      const js = jetstream(link.nc, { timeout: 5_000 });
      const info = await ensureStream(jsm, o.stream, o.logger, link.nc.info?.version);
      const log = new JetStreamEventLog(o, link, js, jsm);
      log.lastStreamInfo = info;
      log.monitor();
      return log;
    } catch (e) {
      await link.close();
      throw e;
    }
  }

  /** Follows the stream's reachability (a cluster that lost quorum answers nothing) and consumer lag. */
  private monitor(): void {
    const probe = async () => {
      if (this.closed || !this.link.connected()) return;
      try {
        const info = await this.jsm.streams.info(this.o.stream.name);
        this.lastStreamInfo = info;
        const problem = streamQuorumProblem(info);
        if (problem) {
          if (this.streamOk) this.o.logger.warn({ stream: this.o.stream.name, leader: info.cluster?.leader }, problem);
          this.streamOk = false;
          this.streamProblem = problem;
          return;
        }
        if (!this.streamOk) this.o.logger.info({ stream: this.o.stream.name }, 'event stream reachable again');
        this.streamOk = true;
        this.streamProblem = undefined;
      } catch (e) {
        if (this.streamOk) this.o.logger.warn({ err: e, stream: this.o.stream.name }, 'event stream unreachable');
        this.streamOk = false;
        this.streamProblem = `stream ${this.o.stream.name} does not answer: ${(e as Error).message}`;
      }
    };
    const lag = async () => {
      if (this.closed || !this.link.connected() || this.o.maxLagEvents <= 0) return;
      try {
        const consumers = await this.consumerStates();
        let worst = 0;
        let name = '';
        for (const c of consumers) if (c.lagEvents > worst) [worst, name] = [c.lagEvents, c.name];
        this.maxLag = worst;
        this.laggingConsumer = name;
      } catch {
        // the probe reports an unreachable stream
      }
    };
    const t1 = setInterval(() => void probe(), 1_000);
    const t2 = setInterval(() => void lag(), 5_000);
    t1.unref();
    t2.unref();
    this.timers.push(t1, t2);
  }

  health(): LogHealth {
    if (!this.link.connected()) {
      return { writable: false, overloaded: { reason: this.link.downReason() ?? 'NATS is unreachable', retryAfterSeconds: 2 } };
    }
    if (!this.streamOk) return { writable: false, overloaded: { reason: this.streamProblem ?? 'the event stream is unreachable', retryAfterSeconds: 2 } };
    if (this.o.maxLagEvents > 0 && this.maxLag > this.o.maxLagEvents) {
      return {
        writable: true,
        overloaded: { reason: `consumer ${this.laggingConsumer} is about ${this.maxLag} events behind (limit ${this.o.maxLagEvents})`, retryAfterSeconds: 5 },
      };
    }
    return { writable: true };
  }

  async append(batch: AppendBatch, options: AppendOptions = {}): Promise<AppendResult> {
    const health = this.health();
    if (!health.writable) throw new KeelError('unavailable', `event log unavailable: ${health.overloaded?.reason}`, { retryAfterSeconds: 2 });
    const idem = batch.idempotency;
    let batchId: string;
    let stored = new Map<number, number>();
    let again = false;
    if (idem) {
      const now = Date.now();
      const r = await this.answers.reserve(batch.tenant, idem.key, idem.bodyHash, now);
      if (r.bodyHash !== idem.bodyHash || r.response !== null) return { kind: 'duplicate', response: r.response ?? '', bodyHash: r.bodyHash };
      batchId = r.batchId;
      again = !r.mine;
      // An earlier attempt reserved the key and never answered. Within the duplicate window a
      // republish of the same ids is deduplicated; past it, look in the stream for what it stored.
      const forgetsAt = r.createdAt + this.o.publishTimeoutMs + this.o.stream.duplicateWindowMs;
      if (!r.mine && now + this.o.publishTimeoutMs + 5_000 > forgetsAt) {
        const partition = partitionOf(batch.tenant, batchId, this.partitions);
        const found = await findPublishedChunks(this.js, this.jsm, {
          stream: this.o.stream.name,
          subject: eventSubject(this.scheme, partition, batch.tenant),
          batchId,
          from: r.createdAt - 5_000,
          until: r.createdAt + this.o.publishTimeoutMs + 5_000,
        });
        stored = found.seqs;
        this.o.logger.warn({ tenant: batch.tenant, batchId, found: stored.size, readFrom: found.source }, 'settled an interrupted idempotent request from the stream');
      }
    } else {
      batchId = randomBytes(12).toString('base64url');
    }
    const partition = partitionOf(batch.tenant, batchId, this.partitions);
    const subject = eventSubject(this.scheme, partition, batch.tenant);
    const chunks = splitBatch(batch.data, batch.count, this.chunkBytes);
    const seqs = await Promise.all(
      chunks.map((c, i) => {
        const known = stored.get(i);
        if (known !== undefined) return known;
        const headers = batchHeaders({ batchId, count: c.count, minTs: batch.minTs, maxTs: batch.maxTs, receivedAt: batch.receivedAt });
        if (again) headers.set(HDR_REPUBLISHED, '1');
        return this.publish(subject, c.data, `${batchId}.${i}`, headers);
      }),
    ).catch(async (e: unknown) => {
      if (!(e instanceof KeelError) || e.code !== 'outcome_unknown') throw e;
      throw await this.unknownOutcome(batch, batchId, e, options);
    });
    this.observeEventsPerMessage(batch.count / chunks.length);
    if (idem) await this.answers.complete(batch.tenant, idem.key, idem.bodyHash, idem.response);
    return { kind: 'appended', partition, position: Math.max(...seqs) };
  }

  /**
   * A publish left unacknowledged may still be stored (a stream leader without quorum commits it
   * when the quorum returns). The answer says so and names the Idempotency-Key under which a retry
   * of the same body is stored once: the request's own, or one recorded now for its batch id.
   */
  private async unknownOutcome(batch: AppendBatch, batchId: string, cause: KeelError, options: AppendOptions): Promise<KeelError> {
    let key = batch.idempotency?.key;
    if (!key && options.hashBody) {
      const assigned = `keel-${batchId}`;
      try {
        await this.answers.adopt(batch.tenant, assigned, options.hashBody(), batchId, batch.receivedAt);
        key = assigned;
      } catch (err) {
        this.o.logger.warn({ err, tenant: batch.tenant, batchId }, 'could not record an Idempotency-Key for a publish of unknown outcome');
      }
    }
    const retry = key ? `; retry with the header "Idempotency-Key: ${key}" and the same body: it is stored once` : '; a retry may store it twice';
    return new KeelError('outcome_unknown', `${cause.message}; the events may have been stored${retry}`, {
      retryAfterSeconds: cause.retryAfterSeconds ?? 2,
      cause,
      ...(key ? { details: [{ path: 'headers.idempotency-key', message: 'retry with this Idempotency-Key and the same body', idempotencyKey: key }] } : {}),
    });
  }

  /** Publishes until acknowledged (same message id every attempt: a repeat is stored once) or the deadline. */
  private async publish(subject: string, data: Uint8Array, msgID: string, headers: ReturnType<typeof batchHeaders>): Promise<number> {
    const deadline = Date.now() + this.o.publishTimeoutMs;
    // Whether an attempt may have reached the stream: "no responders" means none did.
    let maybeStored = false;
    for (let attempt = 0; ; attempt++) {
      const left = deadline - Date.now();
      try {
        const ack = await this.js.publish(subject, data, { msgID, headers, timeout: Math.max(250, Math.min(2_000, left)) });
        return ack.seq;
      } catch (e) {
        headers.set(HDR_REPUBLISHED, '1');
        const message = (e as Error).message;
        if (/maximum (bytes|messages)|insufficient (storage )?resources/i.test(message)) {
          throw new KeelError('overloaded', `the event stream is full: ${message}`, { retryAfterSeconds: 30 });
        }
        if (!/no responders/i.test(message)) maybeStored = true;
        const pause = Math.min(500, 50 * 2 ** attempt);
        if (Date.now() + pause >= deadline) {
          throw new KeelError(maybeStored ? 'outcome_unknown' : 'unavailable', `the event log did not acknowledge the batch within ${this.o.publishTimeoutMs} ms: ${message}`, {
            retryAfterSeconds: 2,
            cause: e,
          });
        }
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  }

  private observeEventsPerMessage(n: number): void {
    this.eventsPerMessage = this.eventsPerMessage === 1 ? n : this.eventsPerMessage * 0.9 + n * 0.1;
  }

  async findIdempotent(tenant: string, key: string): Promise<{ response: string; bodyHash: string } | undefined> {
    return this.answers.find(tenant, key);
  }

  /** Messages matching `filter` after position `after`, read one by one from the stream leader. */
  private async readFiltered(filter: string, after: number, options: TenantReadOptions): Promise<LogBatch[]> {
    const out: LogBatch[] = [];
    const maxBatches = options.maxBatches ?? 100;
    let bytes = 0;
    let seq = after + 1;
    while (out.length < maxBatches) {
      let m;
      try {
        // The stream leader's MSG.GET answers next_by_subj since 2.9 (the client's type lists only
        // seq/last_by_subj for it); the leader, unlike a direct get from a replica, has every
        // acknowledged message, so a read right after a 202 sees it.
        const request: NextMsgRequest = { seq, next_by_subj: filter };
        m = await this.jsm.streams.getMessage(this.o.stream.name, request as unknown as MsgRequest);
      } catch (e) {
        throw new KeelError('unavailable', `cannot read the event log: ${(e as Error).message}`, { retryAfterSeconds: 2, cause: e });
      }
      if (!m) break;
      seq = m.seq + 1;
      const b = toLogBatch(this.scheme, { seq: m.seq, subject: m.subject, data: m.data, header: m.header });
      if (!b) continue;
      if (m.header?.get(HDR_REPUBLISHED)) {
        let copy: boolean;
        try {
          copy = await this.isSecondCopy(m.subject, m.seq, b.receivedAt, m.header.get('Nats-Msg-Id'));
        } catch (e) {
          // A NATS timeout here (a stream changing leader) is the log being unavailable, not a bug.
          throw new KeelError('unavailable', `cannot read the event log: ${(e as Error).message}`, { retryAfterSeconds: 2, cause: e });
        }
        if (copy) continue;
      }
      if (options.fromTs !== undefined && b.maxTs < options.fromTs) continue;
      if (options.toTs !== undefined && b.minTs >= options.toTs) continue;
      if (options.maxBytes !== undefined && out.length > 0 && bytes + b.data.byteLength > options.maxBytes) break;
      bytes += b.data.byteLength;
      out.push(b);
    }
    return out;
  }

  /**
   * Whether a republished message has an earlier copy the stream leader holds (same message id,
   * same subject). Copies are written within one publish timeout of the batch's receipt, so a short
   * search of the subject from just before that moment finds the first one (chunk-search.ts: a
   * replica's copy the leader lost does not count). Rare: only republished messages are checked.
   */
  private async isSecondCopy(subject: string, seq: number, receivedAt: number, msgId: string): Promise<boolean> {
    const dot = msgId.lastIndexOf('.');
    if (dot < 0) return false;
    const index = Number(msgId.slice(dot + 1));
    const found = await findPublishedChunks(this.js, this.jsm, {
      stream: this.o.stream.name,
      subject,
      batchId: msgId.slice(0, dot),
      from: receivedAt - 5_000,
      until: receivedAt + this.o.publishTimeoutMs + this.o.stream.duplicateWindowMs + 5_000,
      beforeSeq: seq,
    });
    const first = found.seqs.get(index);
    return first !== undefined && first < seq;
  }

  read(partition: number, after: number, options: ReadOptions = {}): Promise<LogBatch[]> {
    if (partition < 0 || partition >= this.partitions) return Promise.resolve([]);
    return this.readFiltered(partitionFilter(this.scheme, partition), after, options);
  }

  readTenant(tenant: string, after: number, options: TenantReadOptions = {}): Promise<LogBatch[]> {
    return this.readFiltered(tenantFilter(this.scheme, tenant), after, options);
  }

  /**
   * Positions live in the state store, committed with the results (the runner writes them);
   * retention is JetStream's max_age plus the leader's size sweep, so there is nothing to record here.
   */
  async commit(): Promise<void> {}

  committed(consumer: string, partition: number): Promise<number> {
    return readPosition(this.o.store.db, consumer, partition);
  }

  /**
   * This process's subscription to one partition of a processor's consumer: deliveries come only
   * while this process leases the partition (the live workers share the partitions out).
   */
  async subscribe(consumer: string, partition: number, committed: () => Promise<number>, options: SubscribeOptions = {}): Promise<LogSubscription> {
    if (this.closed) throw new KeelError('unavailable', 'event log is closed');
    let leases = this.leases.get(consumer);
    if (!leases) {
      leases = new PartitionLeases({
        store: this.o.store,
        consumer,
        partitions: this.partitions,
        worker: this.workerId,
        leaseMs: this.o.leaseMs ?? 5_000,
        logger: this.o.logger,
      });
      this.leases.set(consumer, leases);
    }
    return openPartitionSubscription(
      {
        js: this.js,
        jsm: this.jsm,
        stream: this.o.stream.name,
        scheme: this.scheme,
        ackWaitMs: this.o.ackWaitMs,
        maxBatch: this.o.maxBatch ?? 32,
        headersOnly: typeof options.headersOnly === 'function' ? options.headersOnly : () => options.headersOnly === true,
        leases,
        logger: this.o.logger,
        onDelivered: (n) => this.observeEventsPerMessage(n),
      },
      consumer,
      partition,
      committed,
    );
  }

  /** Partitions this process processes now, per processor. */
  partitionsOwned(): Map<string, number> {
    return new Map([...this.leases].map(([consumer, l]) => [consumer, l.count()]));
  }

  /** Whether the NATS connection is up. */
  connected(): boolean {
    return this.link.connected();
  }

  /** Gives back this process's partition leases (a processor stopping), so others take them at once. */
  async releasePartitions(consumer: string): Promise<void> {
    const leases = this.leases.get(consumer);
    this.leases.delete(consumer);
    await leases?.close();
  }

  private async consumerStates(): Promise<ConsumerState[]> {
    const out: ConsumerState[] = [];
    const lister = this.jsm.consumers.list(this.o.stream.name);
    for await (const c of lister) {
      const parsed = parseConsumerName(c.name);
      if (!parsed || !c.config.durable_name) continue;
      out.push({
        name: parsed.processor,
        partition: parsed.partition,
        position: c.ack_floor.stream_seq,
        lagEvents: Math.round((c.num_pending + c.num_ack_pending) * this.eventsPerMessage),
      });
    }
    return out;
  }

  /** The stream's state; unreachable → `unavailable` (a 503 the client may retry). */
  private async streamState(): Promise<StreamInfo> {
    try {
      return await this.jsm.streams.info(this.o.stream.name);
    } catch (e) {
      throw new KeelError('unavailable', `cannot read the event stream's state: ${(e as Error).message}`, { retryAfterSeconds: 2, cause: e });
    }
  }

  async stats(): Promise<LogStats> {
    const now = Date.now();
    if (this.statsCache && now - this.statsCache.at < 1_000) return this.statsCache.stats;
    const info = await this.streamState();
    const lastPositions: number[] = [];
    let sampledEvents = 0;
    let sampled = 0;
    for (let p = 0; p < this.partitions; p++) {
      const m = await this.jsm.streams.getMessage(this.o.stream.name, { last_by_subj: partitionFilter(this.scheme, p) });
      lastPositions.push(m?.seq ?? 0);
      const b = m ? toLogBatch(this.scheme, { seq: m.seq, subject: m.subject, data: m.data, header: m.header }) : undefined;
      if (b) {
        sampledEvents += b.count;
        sampled++;
      }
    }
    if (sampled > 0 && this.eventsPerMessage === 1) this.eventsPerMessage = sampledEvents / sampled;
    const stats: LogStats = {
      partitions: this.partitions,
      batches: info.state.messages,
      events: Math.round(info.state.messages * this.eventsPerMessage),
      eventsEstimated: true,
      bytes: info.state.bytes,
      lastPositions,
      consumers: await this.consumerStates(),
    };
    this.statsCache = { at: now, stats };
    return stats;
  }

  async prunedBefore(): Promise<number | undefined> {
    const info = await this.streamState();
    const { first_seq: firstSeq, messages, last_seq: lastSeq } = info.state;
    if (messages === 0) return lastSeq > 0 ? Date.now() : undefined;
    if (firstSeq <= 1) return undefined;
    const m = await this.jsm.streams.getMessage(this.o.stream.name, { seq: firstSeq }).catch(() => undefined);
    const b = m ? toLogBatch(this.scheme, { seq: m.seq, subject: m.subject, data: m.data, header: m.header }) : undefined;
    // Not a batch, or already gone: the stream's own time of its first message is as good.
    return b?.receivedAt ?? Date.parse(info.state.first_ts);
  }

  /** Facts for `keel doctor` and the startup durability warning. */
  facts(): JetStreamFacts {
    return {
      serverVersion: this.link.serverVersion(),
      servers: this.link.servers,
      connected: this.link.connected(),
      stream: this.lastStreamInfo,
      streamProblem: this.streamProblem,
    };
  }

  /** Removes messages below `seq` (the retention sweep, once every consumer is past them). */
  async purgeBefore(seq: number): Promise<number> {
    const r = await this.jsm.streams.purge(this.o.stream.name, { seq });
    return r.purged;
  }

  async streamInfo(): Promise<StreamInfo> {
    return this.jsm.streams.info(this.o.stream.name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const l of this.leases.values()) await l.close();
    this.leases.clear();
    await this.link.close();
  }
}
