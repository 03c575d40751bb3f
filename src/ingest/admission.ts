/**
 * Whether ingest can take events now, decided from the event log's health alone (no I/O), so it
 * runs at the headers, before a body is read: `unavailable` while the log cannot store anything
 * (NATS down, a stream without quorum, a failed writer), `overloaded` while it refuses appends on
 * purpose (over its size or lag limit). Both are 503 with Retry-After, and nothing was stored.
 */
import { KeelError } from '../core/errors.js';
import type { LogHealth } from '../log/event-log.js';

export function ingestRefusal(health: LogHealth): KeelError | undefined {
  if (!health.overloaded && health.writable) return undefined;
  const reason = health.overloaded?.reason ?? 'the event log is not writable';
  const retryAfterSeconds = health.overloaded?.retryAfterSeconds ?? 2;
  return health.writable
    ? new KeelError('overloaded', `ingest is refusing events: ${reason}`, { retryAfterSeconds })
    : new KeelError('unavailable', `ingest cannot store events now, nothing was stored: ${reason}`, { retryAfterSeconds });
}
