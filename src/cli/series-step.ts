/**
 * `keel slo series --step`: a step too fine for the range (`--step 1m` over the default 24 hours is
 * 1441 points; the API answers at most 1000) is widened to the finest whole-minute step that fits,
 * and the user is told, instead of the command failing.
 */
import { parseDurationMs } from '../core/time.js';
import { parseTimeInput } from '../core/time-input.js';

/** The most points GET /v1/slos/{name}/series answers (MAX_SERIES_POINTS in src/slo/status.ts). */
export const SERIES_MAX_POINTS = 1000;
const MINUTE = 60_000;
const DAY = 86_400_000;

export function fitSeriesStep(opts: { step?: string; from?: string; to?: string }, now: number): { step?: string; note?: string } {
  if (opts.step === undefined) return {};
  const stepMs = /^\d+$/.test(opts.step) ? Number(opts.step) * 1000 : parseDurationMs(opts.step);
  // Not a duration: the server's answer names what is wrong.
  if (!Number.isFinite(stepMs) || stepMs <= 0) return { step: opts.step };
  const to = opts.to ? parseTimeInput(opts.to, now) : now;
  const from = opts.from ? parseTimeInput(opts.from, now) : to - DAY;
  // The server widens the range to whole minutes at both ends.
  const span = to - from + 2 * MINUTE;
  const points = Math.floor(span / stepMs) + 1;
  if (!(points > SERIES_MAX_POINTS)) return { step: opts.step };
  const fitted = Math.ceil(span / (SERIES_MAX_POINTS - 1) / MINUTE) * MINUTE;
  const label = fitted % 3_600_000 === 0 ? `${fitted / 3_600_000}h` : `${fitted / MINUTE}m`;
  return { step: label, note: `--step ${opts.step} over this range gives ${points} points (at most ${SERIES_MAX_POINTS}): using --step ${label}` };
}
