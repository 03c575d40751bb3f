/** Time parameters auditors type: RFC 3339, epoch milliseconds, or a duration back from now (`7d`). */
import { KeelError } from '../core/errors.js';
import { parseDurationMs, parseRfc3339 } from '../core/time.js';

export function parsePointInTime(name: string, v: string | undefined, now: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  let t = NaN;
  if (/^\d{10,}$/.test(v)) t = Number(v);
  else if (/^\d+(\.\d+)?(ms|s|m|h|d|w)$/.test(v.trim())) t = now - parseDurationMs(v);
  else t = parseRfc3339(v);
  if (Number.isNaN(t)) {
    throw new KeelError('validation_failed', `${name} must be an RFC 3339 date-time, epoch milliseconds, or a duration back from now such as 24h or 30d; got "${v}"`, {
      details: [{ path: name, message: 'invalid time' }],
    });
  }
  return t;
}
