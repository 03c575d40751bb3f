/**
 * The embedded event log: a SQLite file written by one writer thread (group commit, WAL,
 * synchronous=FULL) and read by this thread through a separate read-only connection.
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { KeelError } from '../../core/errors.js';
import { transferList } from '../../core/transfer.js';
import { workerUrl } from '../../core/worker-url.js';
import type { AppendBatch, AppendResult, ConsumerState, EventLog, LogBatch, LogHealth, LogStats, ReadOptions, TenantReadOptions } from '../event-log.js';
import { decodeBatch } from './batch-codec.js';
import type { CompactionEvent, SweepResult, WriterEvent, WriterOptions, WriterRequest, WriterResponse, WriterTotals } from './protocol.js';
import { openLogDatabase } from './schema.js';
import { SegmentReader, segmentDir } from './segments.js';

export interface SqliteLogLimits {
  /** Appends are refused (503) while the log holds more than this many bytes. 0 = no limit. */
  maxBytes: number;
  /** Appends are refused (503) while free disk space is below this. */
  minFreeDiskBytes: number;
  /** Appends are refused (503) while a consumer is this many events behind. 0 = no limit. */
  maxLagEvents: number;
}

export interface SqliteEventLogOptions {
  path: string;
  groupCommitDelayMs?: number;
  segmentBytes?: number;
  /** Compact sealed segments in the background (default true). */
  compress?: boolean;
  /** Seal an idle active segment for compaction after this long (default 10 s) … */
  sealIdleMs?: number;
  /** … when it holds at least this much (default 16 MiB). */
  sealMinBytes?: number;
  /** Compact even while Keel is saturated once this many NDJSON bytes wait (default 4 GiB; 0: never wait). */
  compactionMaxBacklogBytes?: number;
  limits?: Partial<SqliteLogLimits>;
  onCommitGroup?: (g: { requests: number; events: number; bytes: number }) => void;
  onCompaction?: (e: CompactionEvent) => void;
}

type Pending = { resolve: (r: WriterResponse & { ok: true }) => void; reject: (e: Error) => void };

interface BatchRow {
  position: number;
  tenant: string;
  receivedAt: number;
  count: number;
  minTs: number;
  maxTs: number;
  bytes: number;
  data: Buffer;
  segId: number | null;
  segOffset: number | null;
  /** Frame length in the compacted segment; null while the batch is as appended. */
  stored: number | null;
}

const EMPTY = new Uint8Array(0);

const BATCH_COLUMNS = 'position, tenant, received_at AS receivedAt, count, min_ts AS minTs, max_ts AS maxTs, bytes, data, seg_id AS segId, seg_offset AS segOffset, stored';

export class SqliteEventLog implements EventLog {
  readonly partitions = 1;
  private readonly worker: Worker;
  private readonly reader: Database.Database;
  private readonly segments: SegmentReader;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private totals: WriterTotals;
  private writerError: string | undefined;
  private consumerCache: { at: number; consumers: ConsumerState[] } = { at: 0, consumers: [] };
  private freeDisk = { at: 0, bytes: Number.MAX_SAFE_INTEGER };
  private readonly limits: SqliteLogLimits;
  private closed = false;

  private constructor(
    private readonly options: SqliteEventLogOptions,
    worker: Worker,
    totals: WriterTotals,
  ) {
    this.worker = worker;
    this.totals = totals;
    this.limits = { maxBytes: 0, minFreeDiskBytes: 0, maxLagEvents: 0, ...options.limits };
    this.reader = openLogDatabase(options.path, { readonly: true });
    this.segments = new SegmentReader(segmentDir(options.path));
    worker.on('message', (m: WriterResponse | WriterEvent) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(`log writer failed: ${e.message}`));
    worker.on('exit', (code) => {
      if (!this.closed) this.failAll(`log writer exited with code ${code}`);
    });
  }

  static async open(options: SqliteEventLogOptions): Promise<SqliteEventLog> {
    const workerOptions: WriterOptions = {
      path: options.path,
      groupCommitDelayMs: options.groupCommitDelayMs ?? 0,
      ...(options.segmentBytes ? { segmentBytes: options.segmentBytes } : {}),
      ...(options.compress !== undefined ? { compress: options.compress } : {}),
      ...(options.sealIdleMs !== undefined ? { sealIdleMs: options.sealIdleMs } : {}),
      ...(options.sealMinBytes !== undefined ? { sealMinBytes: options.sealMinBytes } : {}),
      ...(options.compactionMaxBacklogBytes !== undefined ? { compactionMaxBacklogBytes: options.compactionMaxBacklogBytes } : {}),
    };
    const worker = new Worker(workerUrl(import.meta.url, 'writer-worker'), { workerData: workerOptions });
    const checkpointer = new Worker(workerUrl(import.meta.url, 'checkpoint-worker'), {
      workerData: { path: options.path, intervalMs: 100 },
    });
    checkpointer.unref();
    const totals = await new Promise<WriterTotals>((resolve, reject) => {
      const onMessage = (m: WriterEvent) => {
        if (m.op === 'ready') {
          worker.off('error', reject);
          resolve(m.totals);
        }
      };
      worker.once('message', onMessage);
      worker.once('error', reject);
    });
    const log = new SqliteEventLog(options, worker, totals);
    log.checkpointer = checkpointer;
    return log;
  }

  private checkpointer: Worker | undefined;

  private onMessage(m: WriterResponse | WriterEvent): void {
    if ('op' in m) {
      if (m.op === 'commitGroup') this.options.onCommitGroup?.(m);
      if (m.op === 'compaction' || m.op === 'compactionGate') {
        this.totals = m.totals;
        const { totals: _, ...event } = m;
        this.options.onCompaction?.(event);
      }
      return;
    }
    if (m.totals) this.totals = m.totals;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m);
    else p.reject(new KeelError('unavailable', `event log write failed: ${m.error}`, { retryAfterSeconds: 1 }));
  }

  private failAll(reason: string): void {
    this.writerError = reason;
    for (const p of this.pending.values()) p.reject(new KeelError('unavailable', reason, { retryAfterSeconds: 5 }));
    this.pending.clear();
  }

  private request<T extends AppendResult | SweepResult | null>(req: WriterRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.writerError) return Promise.reject(new KeelError('unavailable', this.writerError, { retryAfterSeconds: 5 }));
    if (this.closed) return Promise.reject(new KeelError('unavailable', 'event log is closed', { retryAfterSeconds: 5 }));
    return new Promise<T>((resolve, reject) => {
      this.pending.set(req.id, { resolve: (r) => resolve(r.result as T), reject });
      this.worker.postMessage(req, transfer);
    });
  }

  /** The batch's data moves to the writer thread; the caller must not use it afterwards. */
  append(batch: AppendBatch): Promise<AppendResult> {
    return this.request<AppendResult>({ op: 'append', id: this.nextId++, ...batch }, transferList(batch.data));
  }

  async findIdempotent(tenant: string, key: string): Promise<{ response: string; bodyHash: string } | undefined> {
    return this.reader.prepare('SELECT response, body_hash AS bodyHash FROM idempotency WHERE tenant = ? AND key = ?').get(tenant, key) as { response: string; bodyHash: string } | undefined;
  }

  async read(partition: number, after: number, options: ReadOptions = {}): Promise<LogBatch[]> {
    if (partition !== 0) return [];
    const rows = this.reader.prepare(`SELECT ${BATCH_COLUMNS} FROM batches WHERE position > ? ORDER BY position LIMIT ?`).all(after, options.maxBatches ?? 100) as BatchRow[];
    return this.load(rows, options.maxBytes, options.headersOnly, options.dataFor);
  }

  async readTenant(tenant: string, after: number, options: TenantReadOptions = {}): Promise<LogBatch[]> {
    const rows = this.reader
      .prepare(
        `SELECT ${BATCH_COLUMNS} FROM batches
         WHERE tenant = ? AND position > ? AND max_ts >= ? AND min_ts < ?
         ORDER BY position LIMIT ?`,
      )
      .all(tenant, after, options.fromTs ?? -1, options.toTs ?? Number.MAX_SAFE_INTEGER, options.maxBatches ?? 100) as BatchRow[];
    return this.load(rows, options.maxBytes);
  }

  /** Rows to batches, reading data from segment files, up to maxBytes (at least one batch). */
  private async load(rows: BatchRow[], maxBytes: number | undefined, headersOnly = false, dataFor?: (tenant: string) => boolean): Promise<LogBatch[]> {
    const picked: BatchRow[] = [];
    const skip = (r: BatchRow) => headersOnly || (dataFor !== undefined && !dataFor(r.tenant));
    let total = 0;
    for (const r of rows) {
      if (!skip(r) && maxBytes !== undefined && picked.length > 0 && total + r.bytes > maxBytes) break;
      if (!skip(r)) total += r.bytes;
      picked.push(r);
    }
    const data = await Promise.all(picked.map((r) => (skip(r) ? EMPTY : this.dataOf(r))));
    return picked.map((r, i) => ({
      partition: 0,
      position: r.position,
      tenant: r.tenant,
      receivedAt: r.receivedAt,
      count: r.count,
      minTs: r.minTs,
      maxTs: r.maxTs,
      data: data[i]!,
      bytes: r.bytes,
    }));
  }

  /** A batch's NDJSON: from its row (v1), its segment as appended, or its compacted frame. */
  private async dataOf(r: BatchRow, retried = false): Promise<Uint8Array> {
    if (r.segId === null) return r.data;
    try {
      if (r.stored === null) return await this.segments.read(r.segId, r.segOffset!, r.bytes);
      return decodeBatch(await this.segments.read(r.segId, r.segOffset!, r.stored, 'cseg'));
    } catch (e) {
      // Compaction swapped the segment between reading the row and opening its file: the row
      // now points into the compacted file.
      if (retried || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const now = this.reader.prepare(`SELECT ${BATCH_COLUMNS} FROM batches WHERE position = ?`).get(r.position) as BatchRow | undefined;
      if (!now) throw e;
      return this.dataOf(now, true);
    }
  }

  async commit(consumer: string, _partition: number, position: number): Promise<void> {
    await this.request<null>({ op: 'commit', id: this.nextId++, consumer, position, now: Date.now() });
    this.consumerCache.at = 0;
  }

  async removeConsumer(consumer: string): Promise<void> {
    await this.request<null>({ op: 'removeConsumer', id: this.nextId++, consumer });
    this.consumerCache.at = 0;
  }

  async committed(consumer: string, _partition: number): Promise<number> {
    const r = this.reader.prepare('SELECT position FROM consumers WHERE name = ?').get(consumer) as { position: number } | undefined;
    return r?.position ?? 0;
  }

  sweep(opts: { now: number; maxAgeMs: number; maxBytes: number; idempotencyTtlMs: number }): Promise<SweepResult> {
    return this.request<SweepResult>({ op: 'sweep', id: this.nextId++, ...opts });
  }

  private consumers(): ConsumerState[] {
    const now = Date.now();
    if (now - this.consumerCache.at < 1000) return this.consumerCache.consumers;
    const rows = this.reader.prepare('SELECT name, position FROM consumers').all() as { name: string; position: number }[];
    // Events before the first batch after the committed position: exact even when retention
    // has removed the committed batch itself.
    const firstAfter = this.reader.prepare('SELECT events_end - count AS base FROM batches WHERE position > ? ORDER BY position LIMIT 1');
    const consumers = rows.map((r) => {
      const next = firstAfter.get(r.position) as { base: number } | undefined;
      const lagEvents = next ? Math.max(0, this.totals.eventsEnd - next.base) : 0;
      return { name: r.name, partition: 0, position: r.position, lagEvents };
    });
    this.consumerCache = { at: now, consumers };
    return consumers;
  }

  async stats(): Promise<LogStats> {
    const t = this.totals;
    return {
      partitions: 1,
      batches: t.batches,
      events: t.eventsEnd,
      bytes: t.bytes,
      diskBytes: t.diskBytes,
      uncompactedBytes: t.uncompactedBytes,
      lastPositions: [t.lastPosition],
      consumers: this.consumers(),
    };
  }

  async prunedBefore(): Promise<number | undefined> {
    // AUTOINCREMENT starts at 1: a first batch past position 1 (or none while positions were used) means retention ran.
    const first = this.reader.prepare('SELECT position, received_at AS receivedAt FROM batches ORDER BY position LIMIT 1').get() as { position: number; receivedAt: number } | undefined;
    if (first) return first.position > 1 ? first.receivedAt : undefined;
    return this.totals.lastPosition > 0 ? Date.now() : undefined;
  }

  health(): LogHealth {
    if (this.writerError) return { writable: false, overloaded: { reason: this.writerError, retryAfterSeconds: 5 } };
    const { maxBytes, minFreeDiskBytes, maxLagEvents } = this.limits;
    if (maxBytes > 0 && this.totals.bytes > maxBytes) {
      return {
        writable: true,
        overloaded: { reason: `event log holds ${this.totals.bytes} bytes, over its limit of ${maxBytes}`, retryAfterSeconds: 30 },
      };
    }
    if (minFreeDiskBytes > 0) {
      const now = Date.now();
      if (now - this.freeDisk.at > 1000) {
        try {
          const s = statfsSync(dirname(this.options.path));
          this.freeDisk = { at: now, bytes: s.bavail * s.bsize };
        } catch {
          this.freeDisk = { at: now, bytes: Number.MAX_SAFE_INTEGER };
        }
      }
      if (this.freeDisk.bytes < minFreeDiskBytes) {
        return {
          writable: true,
          overloaded: { reason: `free disk space ${this.freeDisk.bytes} bytes is below ${minFreeDiskBytes}`, retryAfterSeconds: 30 },
        };
      }
    }
    if (maxLagEvents > 0) {
      for (const c of this.consumers()) {
        if (c.lagEvents > maxLagEvents) {
          return {
            writable: true,
            overloaded: { reason: `consumer ${c.name} is ${c.lagEvents} events behind (limit ${maxLagEvents})`, retryAfterSeconds: 5 },
          };
        }
      }
    }
    return { writable: true };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.request<null>({ op: 'close', id: this.nextId++ });
    } catch {
      // the writer is already gone
    }
    this.closed = true;
    this.checkpointer?.postMessage({ op: 'stop' });
    await this.checkpointer?.terminate();
    this.reader.close();
    this.segments.close();
    await this.worker.terminate();
  }
}
