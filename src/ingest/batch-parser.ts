/**
 * Where request bodies are parsed: on the calling thread, or on a pool of parse threads so that
 * parsing (the largest cost of ingest) uses every core while the main thread serves HTTP.
 */
import { Worker } from 'node:worker_threads';
import { transferList } from '../core/transfer.js';
import { workerUrl } from '../core/worker-url.js';
import { KeelError } from '../core/errors.js';
import type { IngestLimits } from './limits.js';
import { parseJsonBody, parseNdjson, type ParsedBatch } from './parse-batch.js';

export type BodyKind = 'ndjson' | 'json';

export interface BatchParser {
  parse(kind: BodyKind, body: Buffer, receivedAt: number): Promise<ParsedBatch>;
  close(): Promise<void>;
}

export function parseBody(kind: BodyKind, body: Buffer, limits: IngestLimits, receivedAt: number): ParsedBatch {
  return kind === 'ndjson' ? parseNdjson(body, limits, receivedAt) : parseJsonBody(body, limits, receivedAt);
}

export class InlineParser implements BatchParser {
  constructor(private readonly limits: IngestLimits) {}
  async parse(kind: BodyKind, body: Buffer, receivedAt: number): Promise<ParsedBatch> {
    return parseBody(kind, body, this.limits, receivedAt);
  }
  async close(): Promise<void> {}
}

export type ParseWorkerRequest = { id: number; kind: BodyKind; body: Uint8Array; receivedAt: number };
export type ParseWorkerResponse = { id: number; ok: true; batch: ParsedBatch } | { id: number; ok: false; error: { code: string; message: string; details?: unknown } };

interface Slot {
  worker: Worker;
  /** Requests sent to this thread and not answered yet. */
  busy: number;
}

/**
 * Sends each body to the least busy parse thread. Bodies move to the thread and the accepted NDJSON
 * moves back without copies (the caller must not use a body after handing it over).
 */
export class ThreadedParser implements BatchParser {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { resolve: (b: ParsedBatch) => void; reject: (e: Error) => void; slot: Slot }>();
  private nextId = 1;
  private closing = false;

  constructor(
    threads: number,
    private readonly limits: IngestLimits,
  ) {
    for (let i = 0; i < threads; i++) {
      const slot: Slot = { worker: this.spawn(), busy: 0 };
      this.attach(slot);
      this.slots.push(slot);
    }
  }

  private spawn(): Worker {
    const worker = new Worker(workerUrl(import.meta.url, 'parse-worker'), { workerData: this.limits });
    worker.unref();
    return worker;
  }

  /** A thread that dies (out of memory on a hostile body, a bug) fails its requests and is replaced. */
  private attach(slot: Slot): void {
    const worker = slot.worker;
    worker.on('message', (m: ParseWorkerResponse) => this.onMessage(m));
    worker.on('error', (e) => this.failSlot(slot, e));
    worker.on('exit', (code) => {
      if (this.closing || slot.worker !== worker) return;
      this.failSlot(slot, new Error(`parse thread exited with code ${code}`));
      slot.worker = this.spawn();
      slot.busy = 0;
      this.attach(slot);
    });
  }

  private onMessage(m: ParseWorkerResponse): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    p.slot.busy--;
    if (m.ok) {
      const b = m.batch;
      b.data = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
      p.resolve(b);
    } else {
      p.reject(new KeelError(m.error.code as never, m.error.message, m.error.details ? { details: m.error.details as never } : {}));
    }
  }

  private failSlot(slot: Slot, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot === slot) {
        this.pending.delete(id);
        p.reject(new KeelError('unavailable', `parse thread failed: ${e.message}`, { retryAfterSeconds: 1 }));
      }
    }
  }

  parse(kind: BodyKind, body: Buffer, receivedAt: number): Promise<ParsedBatch> {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.busy < slot.busy) slot = s;
    const id = this.nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      slot.worker.postMessage({ id, kind, body, receivedAt } satisfies ParseWorkerRequest, transferList(body));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** For tests: the thread of slot i, to kill it. */
  threadOf(i: number): Worker | undefined {
    return this.slots[i]?.worker;
  }
}
