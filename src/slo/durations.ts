/**
 * OpenSLO durations: a whole number and a unit (`30s`, `5m`, `1h`, `28d`, `2w`, `1M`, `1Q`, `1Y`).
 * Minutes to weeks are fixed lengths; months, quarters and years only make sense on a calendar.
 */
export type DurationUnit = 's' | 'm' | 'h' | 'd' | 'w' | 'M' | 'Q' | 'Y';

export interface OpenSloDuration {
  amount: number;
  unit: DurationUnit;
  text: string;
  /** Length in ms; for M/Q/Y the nominal length (30, 91 or 365 days), used only for scaling. */
  ms: number;
}

const UNIT_MS: Record<DurationUnit, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  M: 30 * 86_400_000,
  Q: 91 * 86_400_000,
  Y: 365 * 86_400_000,
};

export function parseOpenSloDuration(text: unknown, allowed: readonly DurationUnit[]): OpenSloDuration | string {
  if (typeof text !== 'string') return `must be a duration string like ${example(allowed)}`;
  const m = /^(\d{1,6})([smhdwMQY])$/.exec(text.trim());
  if (!m || !allowed.includes(m[2] as DurationUnit)) {
    return `"${text}" is not a duration here: use a whole number and one of ${allowed.join(', ')} (e.g. ${example(allowed)})`;
  }
  const amount = Number(m[1]);
  if (amount <= 0) return `"${text}" must be longer than zero`;
  const unit = m[2] as DurationUnit;
  return { amount, unit, text: `${amount}${unit}`, ms: amount * UNIT_MS[unit] };
}

function example(allowed: readonly DurationUnit[]): string {
  return allowed.includes('d') ? '30d' : allowed.includes('m') ? '5m' : `1${allowed[0]}`;
}

/** Shortest readable form of a length in ms: `1h`, `2h24m`, `90s`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}

/** Reads back what `formatDuration` wrote (`2h24m` → 8,640,000); undefined for anything else. */
export function parseFormattedDuration(text: unknown): number | undefined {
  if (typeof text !== 'string' || !/^(\d+(ms|d|h|m|s))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|d|h|m|s)/g)) ms += Number(n) * (unit === 'ms' ? 1 : UNIT_MS[unit as DurationUnit]);
  return ms;
}
