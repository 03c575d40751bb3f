/**
 * `keel events send` for bulk loads: NDJSON read in batches with their byte offsets, each batch
 * sent with an Idempotency-Key derived from the input and the offset (a re-run, or a retry whose
 * answer was lost, stores nothing twice), 429/503/connection errors retried after Retry-After or
 * with backoff, and the last acknowledged offset of every file kept in a state file so `--resume`
 * continues after it (also once the server has forgotten the keys).
 */
import type { IngestAnswer } from '../ingest/schemas.js';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { UsageError } from './args.js';
import { ApiError, UnreachableError, type KeelClient } from './client.js';

export interface Batch {
  /** Byte offset of the batch's first line in its input. */
  offset: number;
  /** Byte offset just after the batch (where a resumed send starts). */
  end: number;
  /** 0-based number of the batch's first line in its input. */
  firstLine: number;
  lines: number;
  body: Buffer;
}

/** Splits a byte stream into batches of `size` lines, keeping each line's bytes as they were. */
export async function* batches(input: Readable, size: number, start: { offset: number; line: number }): AsyncGenerator<Batch> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lines = 0;
  let offset = start.offset;
  let line = start.line;
  let rest = Buffer.alloc(0);
  const take = (): Batch => {
    const body = Buffer.concat(pending, pendingBytes);
    const b = { offset, end: offset + body.length, firstLine: line, lines, body };
    offset = b.end;
    line += lines;
    pending = [];
    pendingBytes = 0;
    lines = 0;
    return b;
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let from = 0;
    for (let nl = buf.indexOf(10, from); nl !== -1; nl = buf.indexOf(10, from)) {
      const piece = buf.subarray(from, nl + 1);
      pending.push(piece);
      pendingBytes += piece.length;
      lines++;
      from = nl + 1;
      if (lines >= size) yield take();
    }
    buf = buf.subarray(from);
    rest = Buffer.from(buf);
  }
  if (rest.length) {
    // A last line without a newline is still an event.
    pending.push(rest, Buffer.from('\n'));
    pendingBytes += rest.length + 1;
    lines++;
  }
  if (lines > 0) {
    const b = take();
    // The added newline is not in the input: the input ends where its bytes end.
    if (rest.length) b.end -= 1;
    yield b;
  }
}

/** The key of a batch: the same input, offset and bytes give the same key on every run. */
export function batchKey(identity: string, batch: Batch): string {
  const h = createHash('sha256').update(identity).update('\0').update(String(batch.offset)).update('\0').update(batch.body).digest('hex');
  return `keel-send-${h}`;
}

interface FileState {
  offset: number;
  line: number;
  size: number;
  accepted: number;
  rejected: number;
  done: boolean;
}

/** Acknowledged progress per input file, written atomically after every acknowledged batch. */
export class SendState {
  private readonly files: Record<string, FileState>;

  constructor(readonly path: string) {
    let files: Record<string, FileState> = {};
    try {
      files = (JSON.parse(readFileSync(path, 'utf8')) as { files?: Record<string, FileState> }).files ?? {};
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`${path}: not a state file written by keel events send (${(e as Error).message})`);
    }
    this.files = files;
  }

  get(identity: string): FileState | undefined {
    return this.files[identity];
  }

  set(identity: string, s: FileState): void {
    this.files[identity] = s;
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, files: this.files }, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

export interface Source {
  /** What the state file and the keys know the input by: the real path, or "-" for standard input. */
  identity: string;
  name: string;
  size?: number;
  open(start: number): Readable;
}

export function sourceOf(file: string): Source {
  if (file === '-') return { identity: '-', name: 'standard input', open: () => process.stdin };
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new UsageError(`${file}: no such file or directory`);
  }
  if (st.isDirectory()) throw new UsageError(`${file}: is a directory, expected an NDJSON file`);
  return { identity: realpathSync(file), name: file, size: st.size, open: (start) => createReadStream(file, { start }) };
}

export interface RetryPolicy {
  maxAttempts: number;
  /** First backoff without Retry-After; doubles up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  sleep(ms: number): Promise<void>;
  onRetry(why: string, delayMs: number): void;
}

/** Whether a failed call may succeed later unchanged: quota (429), overload or restart (503), no connection. */
function retryable(e: unknown): boolean {
  return e instanceof UnreachableError || (e instanceof ApiError && (e.status === 429 || e.status === 503));
}

/** The call, retried after the server's Retry-After or with exponential backoff (with jitter). */
export async function withRetries<T>(call: () => Promise<T>, policy: RetryPolicy): Promise<{ value: T; retries: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await call(), retries: attempt - 1 };
    } catch (e) {
      if (!retryable(e) || attempt >= policy.maxAttempts) throw e;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const hinted = e instanceof ApiError && e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : undefined;
      const delay = hinted ?? Math.round(backoff / 2 + (Math.random() * backoff) / 2);
      policy.onRetry(e instanceof ApiError ? `${e.status} ${e.code}` : 'no connection', delay);
      await policy.sleep(delay);
    }
  }
}

export type { IngestAnswer };

export function postBatch(client: KeelClient, batch: Batch, key: string): () => Promise<IngestAnswer> {
  return () => client.call<IngestAnswer>('POST', '/v1/events', { raw: batch.body, headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': key } });
}
