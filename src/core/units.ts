/** Human units in configuration: sizes like `5MiB` and durations like `24h`. */
import { parseDurationMs } from './time.js';

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Bytes in `5MiB`, `64 KiB`, `1GB` or a plain number; NaN when unreadable. */
export function parseSize(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  if (!m) return NaN;
  const unit = (m[2] ?? '').toLowerCase() || 'b';
  const f = SIZE_UNITS[unit];
  return f === undefined ? NaN : Math.round(Number(m[1]) * f);
}

/** Milliseconds in `30s`, `5m`, `24h`, `7d` or a plain number of ms; NaN when unreadable. */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v;
  return parseDurationMs(v);
}
