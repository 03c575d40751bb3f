/** Option parsers: a bad value is a usage error (exit 2) naming what was expected. */
import { InvalidArgumentError } from 'commander';
import { isTimeInput, TIME_INPUT_FORMS } from '../core/time-input.js';

export class UsageError extends Error {}

export function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${v}"`);
  return n;
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
}

export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got "${v}"`);
  return n;
}

export function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port 0-65535, got "${v}"`);
  return n;
}

export function nonNegativeNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number ≥ 0, got "${v}"`);
  return n;
}

/**
 * A time option (--from, --to, --at, --since, ...): checked here with the server's own parser, so a
 * typo is a usage error; passed on as typed, so relative forms (7d, now-1h) follow the server's clock.
 */
export function time(v: string): string {
  if (!isTimeInput(v)) throw new InvalidArgumentError(`expected ${TIME_INPUT_FORMS}; got "${v}"`);
  return v.trim();
}
