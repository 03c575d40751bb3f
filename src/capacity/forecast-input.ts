/**
 * Parsing what people type about capacity, pure: growth rates (`20%/month`), loads (`500000/s`,
 * `2M/min`), durations (`14d`). Each refuses nonsense with a message naming the expected form.
 */
import { KeelError } from '../core/errors.js';
import { DAY_MS, HOUR_MS, MONTH_MS, WEEK_MS } from './forecast.js';

const PER: Record<string, number> = {
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: HOUR_MS,
  hour: HOUR_MS,
  d: DAY_MS,
  day: DAY_MS,
  w: WEEK_MS,
  week: WEEK_MS,
  month: MONTH_MS,
  y: 365 * DAY_MS,
  year: 365 * DAY_MS,
};

function refuse(path: string, value: string, form: string): KeelError {
  return new KeelError('validation_failed', `${path}: "${value}" is not ${form}`, { details: [{ path, message: `expected ${form}` }] });
}

/** `20%/month` → 0.2 per 30 days (a rate per week or year is converted by compounding). */
export function parseGrowth(text: string, path = 'growth'): number {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*%\s*\/\s*([a-z]+)\s*$/i.exec(text);
  const per = m ? PER[m[2]!.toLowerCase()] : undefined;
  if (!m || per === undefined || per < DAY_MS) throw refuse(path, text, 'a growth rate such as 20%/month, 5%/week or 100%/year');
  const pct = Number(m[1]);
  if (!(pct > -100) || pct > 10_000) throw refuse(path, text, 'a growth rate between -100% and 10000% per period');
  return Math.pow(1 + pct / 100, MONTH_MS / per) - 1;
}

const SUFFIX: Record<string, number> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9, b: 1e9, B: 1e9 };

/** `500000/s`, `2M/min`, `1.5k/s` → events per second. */
export function parseLoad(text: string, path = 'load'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGbB]?)\s*\/\s*([a-z]+)\s*$/.exec(text);
  const per = m ? PER[m[3]!.toLowerCase()] : undefined;
  if (!m || per === undefined) throw refuse(path, text, 'a load such as 500000/s, 30M/min or 2B/day');
  const perSecond = (Number(m[1]) * SUFFIX[m[2]!]!) / (per / 1000);
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw refuse(path, text, 'a positive load');
  return perSecond;
}

/** `14d`, `36h`, `2w`, `90m` → ms (between one hour and five years). */
export function parseHorizon(text: string, path = 'horizon'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(m|h|d|w|y)\s*$/.exec(text);
  if (!m) throw refuse(path, text, 'a duration such as 14d, 36h or 2w');
  const unit = m[2] === 'm' ? 60_000 : PER[m[2]!]!;
  const ms = Number(m[1]) * unit;
  if (ms < HOUR_MS || ms > 5 * 365 * DAY_MS) throw refuse(path, text, 'a duration between 1h and 5y');
  return ms;
}
