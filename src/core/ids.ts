/** Random identifiers: base62 without modulo bias. */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    const bytes = randomBytes((n - out.length) * 2);
    for (let i = 0; i < bytes.length && out.length < n; i++) {
      const b = bytes[i]!;
      if (b < 248) out += ALPHABET[b % 62]; // 248 = 4 × 62: no modulo bias
    }
  }
  return out;
}

/** `prefix_` followed by 12 random base62 characters (≈71 bits). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(12)}`;
}
