/**
 * API key material. A key is `keel_` followed by 40 base62 characters (≈238 bits), so a plain
 * sha256 is a safe stored form: there is nothing to brute-force, and lookups stay one index probe.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomBase62(n: number): string {
  let out = '';
  const bytes = randomBytes(n * 2);
  for (let i = 0; out.length < n; i++) {
    if (i >= bytes.length) return out + randomBase62(n - out.length);
    const b = bytes[i]!;
    if (b < 248) out += ALPHABET[b % 62]; // 248 = 4 × 62: no modulo bias
  }
  return out;
}

export function generateApiKey(): string {
  return `keel_${randomBase62(40)}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** What listings show of a key: enough to recognise it, too little to use it. */
export function keyPrefix(key: string): string {
  return key.slice(0, Math.min(12, Math.max(4, Math.floor(key.length / 3))));
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(12)}`;
}

export { randomInt };
