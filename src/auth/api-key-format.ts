/**
 * API key material. A key is `keel_` followed by 40 base62 characters (≈238 bits), so a plain
 * sha256 is a safe stored form: there is nothing to brute-force, and lookups stay one index probe.
 */
import { createHash } from 'node:crypto';
import { randomBase62 } from '../core/ids.js';

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
