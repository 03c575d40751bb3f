/**
 * Times people type, in every route's query and body and every CLI option: one parser, so
 * `keel incidents metrics --from 2026-11-01`, `?since=7d` and `--at now-1h` mean the same
 * everywhere. Pure: "now" is passed in (the server's clock in routes, so relative times follow it).
 *
 * Accepted forms:
 * - RFC 3339 date-time: `2026-11-01T08:00:00Z`, `2026-11-01T09:00:00.5+01:00`
 * - a calendar date, midnight UTC: `2026-11-01`
 * - epoch milliseconds: `1793491200000`
 * - `now`, `now-24h`, `now+30m` (units ms, s, m, h, d, w)
 * - a duration back from now: `7d`, `24h` (the same as `now-7d`, `now-24h`)
 */
import { z } from 'zod';
import { KeelError } from './errors.js';
import { parseDurationMs, parseRfc3339 } from './time.js';

export const TIME_INPUT_FORMS = 'an RFC 3339 time (2026-11-01T08:00:00Z), a date (2026-11-01), epoch milliseconds, now, now-24h, or a duration back from now (7d)';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const RELATIVE = /^now(?:([+-])(\d+(?:\.\d+)?(?:ms|s|m|h|d|w)))?$/;

/** Epoch milliseconds of a typed time, or NaN when the text is none of the accepted forms. */
export function parseTimeInput(text: string, now: number): number {
  const v = text.trim();
  if (/^\d{1,15}$/.test(v)) return Number(v);
  const date = DATE.exec(v);
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const t = Date.UTC(y, m - 1, d);
    // Date.UTC rolls 2026-02-30 over into March: a date that does not exist is not a time.
    const back = new Date(t);
    return back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === d ? t : NaN;
  }
  const rel = RELATIVE.exec(v);
  if (rel) {
    if (!rel[1]) return now;
    const ms = parseDurationMs(rel[2]!);
    return rel[1] === '+' ? now + ms : now - ms;
  }
  const back = parseDurationMs(v.startsWith('-') ? v.slice(1) : v);
  if (Number.isFinite(back)) return now - back;
  return parseRfc3339(v);
}

export function isTimeInput(text: string): boolean {
  return !Number.isNaN(parseTimeInput(text, 0));
}

/** A time field of a route's query or body: checked by the schema, resolved with `timeParam`. */
export const timeText = z
  .string()
  .max(64)
  .refine(isTimeInput, { message: `must be ${TIME_INPUT_FORMS}` })
  .describe(`Time: ${TIME_INPUT_FORMS}`);

/** The time in field `name` (absent: `fallback`), resolved against `now`; a 400 naming the field otherwise. */
export function timeParam<F extends number | undefined>(name: string, v: string | undefined, fallback: F, now: number): number | F {
  if (v === undefined || v === '') return fallback;
  const t = parseTimeInput(v, now);
  if (Number.isNaN(t)) {
    throw new KeelError('validation_failed', `${name}: must be ${TIME_INPUT_FORMS}, got "${v}"`, {
      details: [{ path: name, message: 'invalid time' }],
    });
  }
  return t;
}

/** Epoch ms as RFC 3339 in answers (null stays null). */
export function iso(t: number | null | undefined): string | null {
  return t === null || t === undefined ? null : new Date(t).toISOString();
}
