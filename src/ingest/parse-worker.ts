/** A parse thread: runs parse-batch on bodies sent by ThreadedParser. */
import { parentPort, workerData } from 'node:worker_threads';
import { isKeelError } from '../core/errors.js';
import { transferList } from '../core/transfer.js';
import { parseBody, type ParseWorkerRequest, type ParseWorkerResponse } from './batch-parser.js';
import type { IngestLimits } from './limits.js';

const limits = workerData as IngestLimits;
const port = parentPort!;

port.on('message', (m: ParseWorkerRequest) => {
  const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  let reply: ParseWorkerResponse;
  try {
    const batch = parseBody(m.kind, body, limits, m.receivedAt);
    reply = { id: m.id, ok: true, batch };
    port.postMessage(reply, transferList(batch.data));
    return;
  } catch (e) {
    reply = isKeelError(e)
      ? { id: m.id, ok: false, error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } }
      : { id: m.id, ok: false, error: { code: 'internal', message: (e as Error).message } };
  }
  port.postMessage(reply);
});
