/** Random identifiers: base62 without modulo bias. */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Random bytes drawn from the CSPRNG 4 KiB at a time and handed out once each (as Node's own
 * randomUUID does): a paging storm makes several ids per alert, and a call into the CSPRNG per id
 * cost more than the id itself. Every byte is used at most once, so ids stay as unpredictable.
 */
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

function randomByte(): number {
  if (poolAt === POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  return POOL[poolAt++]!;
}

export function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    const b = randomByte();
    if (b < 248) out += ALPHABET[b % 62]; // 248 = 4 × 62: no modulo bias
  }
  return out;
}

/** `prefix_` followed by 12 random base62 characters (≈71 bits). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(12)}`;
}
