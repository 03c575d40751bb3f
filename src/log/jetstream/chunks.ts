/**
 * Splitting a batch into messages. A request may hold 5 MiB while a NATS message is limited by
 * the server's max_payload (1 MiB by default), so a large batch becomes several messages, cut at
 * event boundaries. Pure; no I/O.
 */
import { KeelError } from '../../core/errors.js';

export interface Chunk {
  data: Uint8Array;
  /** Events in this chunk. */
  count: number;
}

const NEWLINE = 10;

/** Cuts NDJSON (every event ending in "\n") into chunks of at most maxBytes, whole events only. */
export function splitBatch(data: Uint8Array, count: number, maxBytes: number): Chunk[] {
  if (data.byteLength <= maxBytes) return [{ data, count }];
  const chunks: Chunk[] = [];
  let start = 0;
  while (start < data.byteLength) {
    let end: number;
    if (data.byteLength - start <= maxBytes) end = data.byteLength;
    else {
      const nl = data.lastIndexOf(NEWLINE, start + maxBytes - 1);
      if (nl < start) {
        throw new KeelError('payload_too_large', `an event is larger than the largest message the event log accepts (${maxBytes} bytes)`);
      }
      end = nl + 1;
    }
    const part = data.subarray(start, end);
    chunks.push({ data: part, count: countLines(part) });
    start = end;
  }
  return chunks;
}

function countLines(data: Uint8Array): number {
  let n = 0;
  let at = data.indexOf(NEWLINE);
  while (at >= 0) {
    n++;
    at = data.indexOf(NEWLINE, at + 1);
  }
  // A final event without its newline still counts.
  if (data.byteLength > 0 && data[data.byteLength - 1] !== NEWLINE) n++;
  return n;
}
