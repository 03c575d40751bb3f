/**
 * Password hashing with scrypt from node:crypto: a random 16-byte salt per password, the cost
 * parameters stored beside the hash (so they can be raised later without breaking old hashes),
 * and a constant-time comparison. scrypt runs on libuv's thread pool, off the event loop.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { ErrorDetail } from '../core/errors.js';

/** N = 2^15, r = 8, p = 1: 32 MiB and tens of milliseconds per guess (OWASP's scrypt minimum is 2^17 at 128 MiB; this machine class shares memory with the event log). */
const DEFAULT = { logN: 15, r: 8, p: 1, keyLength: 32 };
/** Longest password accepted: scrypt's cost does not depend on length, but parsing a megabyte does. */
export const MAX_PASSWORD_LENGTH = 1024;

function derive(password: string, salt: Buffer, logN: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, cost: number = DEFAULT.logN): Promise<string> {
  const salt = randomBytes(16);
  const { r, p, keyLength } = DEFAULT;
  const logN = cost;
  const key = await derive(password, salt, logN, r, p, keyLength);
  return `scrypt$${logN}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when the password matches the stored hash; false for any malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length < 16) return false;
  const actual = await derive(password, salt, logN, r, p, expected.length);
  return timingSafeEqual(actual, expected);
}

/** A hash of nothing anybody knows: unknown accounts are checked against it so they take as long as known ones. */
const decoys = new Map<number, Promise<string>>();
export function decoyHash(cost: number = DEFAULT.logN): Promise<string> {
  let d = decoys.get(cost);
  if (!d) decoys.set(cost, (d = hashPassword(randomBytes(24).toString('base64'), cost)));
  return d;
}

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, rules: { minLength: number; email?: string }): ErrorDetail | undefined {
  const length = [...password].length;
  if (length < rules.minLength) return { path: 'password', message: `must be at least ${rules.minLength} characters (got ${length})` };
  if (password.length > MAX_PASSWORD_LENGTH) return { path: 'password', message: `must be at most ${MAX_PASSWORD_LENGTH} characters` };
  if (password.trim().length === 0) return { path: 'password', message: 'must not be only spaces' };
  if (rules.email && password.toLowerCase().includes(rules.email.toLowerCase())) return { path: 'password', message: 'must not contain the email address' };
  return undefined;
}
