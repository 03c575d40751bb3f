/** Time query parameters: RFC 3339 or epoch milliseconds, with the parameter named in errors. */
import { KeelError } from '../core/errors.js';
import { parseRfc3339 } from '../core/time.js';

export function timeParam(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const n = /^\d{1,15}$/.test(v) ? Number(v) : parseRfc3339(v);
  if (!Number.isFinite(n)) {
    throw new KeelError('validation_failed', `${name}: must be an RFC 3339 time (2026-05-01T08:00:00Z) or epoch milliseconds, got "${v}"`, {
      details: [{ path: name, message: 'invalid time' }],
    });
  }
  return n;
}

export function iso(t: number | null | undefined): string | null {
  return t === null || t === undefined ? null : new Date(t).toISOString();
}
