/**
 * Reads a request body into one buffer. With a Content-Length the buffer is allocated once at its
 * final size and chunks are copied straight in (fastify's reader gathers chunks and concatenates,
 * one more allocation of the whole body per request, which at hundreds of MB/s shows up as GC time
 * on the event loop). The buffer owns its memory, so it can be moved to a parse thread.
 */
import type { IncomingMessage } from 'node:http';
import { KeelError } from '../core/errors.js';

export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    const length = declared === undefined ? NaN : Number(declared);
    if (length > limit) {
      req.resume();
      reject(new KeelError('payload_too_large', `request body is larger than ${limit} bytes`));
      return;
    }
    let buf: Buffer | undefined = Number.isInteger(length) ? Buffer.allocUnsafeSlow(length) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit || (buf && received > buf.length)) {
        cleanup();
        req.resume();
        reject(received > limit ? new KeelError('payload_too_large', `request body is larger than ${limit} bytes`) : new KeelError('bad_request', 'request body is longer than its Content-Length'));
        return;
      }
      if (buf) chunk.copy(buf, received - chunk.length);
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (buf) {
        if (received !== buf.length) {
          reject(new KeelError('bad_request', `request body has ${received} bytes, Content-Length said ${buf.length}`));
          return;
        }
        resolve(buf);
        return;
      }
      buf = Buffer.allocUnsafeSlow(received);
      let o = 0;
      for (const c of chunks) o += c.copy(buf, o);
      resolve(buf);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new KeelError('bad_request', `request body could not be read: ${err.message}`));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
