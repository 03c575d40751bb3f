/**
 * One log batch as one JetStream message: the NDJSON as payload, the batch's facts in headers,
 * the tenant and partition in the subject, the position is the stream sequence.
 */
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { LogBatch } from '../event-log.js';
import { parseSubject, type SubjectScheme } from './subjects.js';

export const HDR_BATCH = 'Keel-Batch';
export const HDR_COUNT = 'Keel-Count';
export const HDR_MIN_TS = 'Keel-Min-Ts';
export const HDR_MAX_TS = 'Keel-Max-Ts';
export const HDR_RECEIVED_AT = 'Keel-Received-At';
/**
 * Set on a message published again (a publish retry, or a retried idempotent request): only such a
 * message can be a second copy of a batch (JetStream's deduplication misses a retry across a
 * stream leader change), so readers look for an earlier copy of these alone.
 */
export const HDR_REPUBLISHED = 'Keel-Republished';

export function batchHeaders(b: { batchId: string; count: number; minTs: number; maxTs: number; receivedAt: number }): MsgHdrs {
  const h = natsHeaders();
  h.set(HDR_BATCH, b.batchId);
  h.set(HDR_COUNT, String(b.count));
  h.set(HDR_MIN_TS, String(b.minTs));
  h.set(HDR_MAX_TS, String(b.maxTs));
  h.set(HDR_RECEIVED_AT, String(b.receivedAt));
  return h;
}

/** A stored message as a LogBatch, or undefined when it is not one of Keel's (foreign subject or headers). */
export function toLogBatch(scheme: SubjectScheme, m: { seq: number; subject: string; data: Uint8Array; header?: MsgHdrs | undefined }): LogBatch | undefined {
  const where = parseSubject(scheme, m.subject);
  if (!where || !m.header) return undefined;
  const num = (name: string) => Number(m.header!.get(name));
  const count = num(HDR_COUNT);
  const receivedAt = num(HDR_RECEIVED_AT);
  if (!Number.isFinite(count) || !Number.isFinite(receivedAt)) return undefined;
  // A headers-only delivery carries the payload's size instead of the payload.
  const size = m.data.byteLength === 0 ? m.header.get('Nats-Msg-Size') : '';
  const id = m.header.get('Nats-Msg-Id');
  return {
    ...(size ? { bytes: Number(size) } : {}),
    ...(id ? { id } : {}),
    partition: where.partition,
    position: m.seq,
    tenant: where.tenant,
    receivedAt,
    count,
    minTs: num(HDR_MIN_TS),
    maxTs: num(HDR_MAX_TS),
    data: m.data,
  };
}

export function batchIdOf(header: MsgHdrs | undefined): string | undefined {
  return header?.get(HDR_BATCH) || undefined;
}
