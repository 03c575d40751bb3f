/**
 * Reading back what was stored: a tenant's events in the order Keel received them, filtered by
 * event time, paged with an opaque cursor (batch position and index within the batch).
 */
import { KeelError } from '../core/errors.js';
import { parseRfc3339 } from '../core/time.js';
import { eventLines, type EventLog } from '../log/event-log.js';

export interface StoredEvent {
  [attr: string]: unknown;
  ts: string | number;
}

export interface EventPage {
  events: StoredEvent[];
  /** Pass back as `cursor` to continue after the last returned event (also to follow new ones). */
  cursor: string;
  /** More events matching the query are stored right now. */
  has_more: boolean;
}

export interface EventQuery {
  tenant: string;
  fromTs?: number;
  toTs?: number;
  limit: number;
  cursor?: string;
}

interface Cursor {
  position: number;
  index: number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.position}:${c.index}`).toString('base64url');
}

export function decodeCursor(s: string): Cursor {
  const m = /^(\d{1,16}):(\d{1,6})$/.exec(Buffer.from(s, 'base64url').toString('utf8'));
  if (!m) throw new KeelError('validation_failed', 'cursor is not one Keel returned', { details: [{ path: 'cursor', message: 'invalid cursor' }] });
  return { position: Number(m[1]), index: Number(m[2]) };
}

function eventTime(ev: Record<string, unknown>, receivedAt: number): number {
  const ts = ev.ts;
  if (typeof ts === 'number') return ts;
  if (typeof ts === 'string') return parseRfc3339(ts);
  return receivedAt;
}

export async function readEvents(log: EventLog, q: EventQuery): Promise<EventPage> {
  let cur: Cursor;
  if (q.cursor === 'latest') {
    // Start after everything stored now: `keel events tail` shows only what arrives next.
    const stats = await log.stats();
    cur = { position: Math.max(...stats.lastPositions, 0) + 1, index: 0 };
  } else cur = q.cursor ? decodeCursor(q.cursor) : { position: 1, index: 0 };
  const events: StoredEvent[] = [];
  const from = q.fromTs ?? -Infinity;
  const to = q.toTs ?? Infinity;
  for (;;) {
    const batches = await log.readTenant(q.tenant, cur.position - 1, {
      maxBatches: 64,
      maxBytes: 32 * 1024 * 1024,
      ...(q.fromTs !== undefined ? { fromTs: q.fromTs } : {}),
      ...(q.toTs !== undefined ? { toTs: q.toTs } : {}),
    });
    if (batches.length === 0) {
      return { events, cursor: encodeCursor(cur), has_more: false };
    }
    for (const b of batches) {
      let i = 0;
      const skip = b.position === cur.position ? cur.index : 0;
      for (const line of eventLines(b.data)) {
        if (i++ < skip) continue;
        if (events.length >= q.limit) {
          return { events, cursor: encodeCursor({ position: b.position, index: i - 1 }), has_more: true };
        }
        const ev = JSON.parse(line) as Record<string, unknown>;
        const t = eventTime(ev, b.receivedAt);
        if (t < from || t >= to) continue;
        if (ev.ts === undefined) ev.ts = new Date(b.receivedAt).toISOString();
        events.push(ev as StoredEvent);
      }
      cur = { position: b.position + 1, index: 0 };
    }
  }
}
