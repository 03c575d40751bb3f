/**
 * Random ids come from a pool of CSPRNG bytes refilled 4 KiB at a time: every byte is handed out
 * once, so ids drawn across many refills are all different and use the whole base62 alphabet.
 */
import { describe, expect, it } from 'vitest';
import { newId, randomBase62, timeOrderedId } from '../../src/core/ids.js';

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

  it('time-ordered ids: prefix, 9 base36 characters of the time, 12 random ones', () => {
    expect(timeOrderedId('inc', 0)).toMatch(/^inc_000000000[0-9A-Za-z]{12}$/);
    // 36^8 ms and 36^9 - 1 ms: the first time of nine digits, and the last.
    expect(timeOrderedId('alt', 2_821_109_907_456)).toMatch(/^alt_100000000[0-9A-Za-z]{12}$/);
    expect(timeOrderedId('alt', 101_559_956_668_415)).toMatch(/^alt_zzzzzzzzz[0-9A-Za-z]{12}$/);
    // 2026-12-06T00:00:00Z = 1,796,515,200,000 ms = "mxb2rk00" in base36, below 36^8: padded with one 0.
    expect(timeOrderedId('dlv', 1_796_515_200_000)).toMatch(/^dlv_0mxb2rk00[0-9A-Za-z]{12}$/);
    expect(timeOrderedId('tmr', 5).slice(0, 13)).toBe(timeOrderedId('tmr', 5).slice(0, 13));
    expect(timeOrderedId('tmr', 5)).not.toBe(timeOrderedId('tmr', 5));
  });

  it('ids made later sort after earlier ones, in byte order (SQLite) and in a linguistic collation (PostgreSQL)', () => {
    // Times a millisecond apart, a digit apart at a boundary (…9 → …a), and years apart.
    const times = [1_796_515_200_000, 1_796_515_200_001, 1_796_515_200_009, 1_796_515_200_010, 1_796_515_200_035, 1_796_515_200_036, 1_900_000_000_000];
    const ids = times.map((t) => timeOrderedId('inc', t));
    const shuffled = [ids[3]!, ids[6]!, ids[0]!, ids[5]!, ids[1]!, ids[4]!, ids[2]!];
    expect([...shuffled].sort()).toEqual(ids);
    expect([...shuffled].sort((a, b) => a.localeCompare(b, 'en-US'))).toEqual(ids);
  });
});
