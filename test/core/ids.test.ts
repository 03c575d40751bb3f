/**
 * Random ids come from a pool of CSPRNG bytes refilled 4 KiB at a time: every byte is handed out
 * once, so ids drawn across many refills are all different and use the whole base62 alphabet.
 */
import { describe, expect, it } from 'vitest';
import { newId, randomBase62 } from '../../src/core/ids.js';

describe('random ids', () => {
  it('draws 5,000 distinct ids across many pool refills, base62 only', () => {
    // 5,000 × 16 characters ≈ 82 KB of random bytes: about twenty refills of the pool.
    const ids = Array.from({ length: 5000 }, () => randomBase62(16));
    expect(new Set(ids).size).toBe(5000);
    for (const id of ids) expect(id).toMatch(/^[0-9A-Za-z]{16}$/);
    const seen = new Set(ids.join(''));
    expect(seen.size).toBe(62);
  });

  it('prefixes ids with their kind and 12 characters', () => {
    expect(newId('int')).toMatch(/^int_[0-9A-Za-z]{12}$/);
    expect(randomBase62(0)).toBe('');
    expect(randomBase62(30)).toHaveLength(30);
  });
});
