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

/** Width of the time part: 36^9 ms reaches the year 5138, so the part never grows a character. */
const TIME_WIDTH = 9;

/**
 * `prefix_`, the time in milliseconds (9 base36 characters), then 12 random base62 characters
 * (≈71 bits, as `newId`): ids made later sort after earlier ones, the random part keeps them
 * unguessable and unique.
 *
 * Why for the rows a paging storm writes (alerts, incidents, timers, deliveries): their ids are
 * keys of B-tree indexes (primary keys, and the foreign keys of the timeline, the escalation and
 * the attachments). A random key lands on a random leaf page, so every row of a storm dirtied a page
 * of its own in each of those indexes, and SQLite wrote each dirty page whole into its WAL at
 * commit: 21 WAL pages per paged alert. Keys that grow with time land on the last leaf, which a
 * transaction's rows share: 11.5 pages per alert, and storms page about 12 % faster
 * (`keel bench paging`). PostgreSQL's indexes gain the same locality.
 *
 * The time part uses digits and lower-case letters only, whose order is the same in byte order
 * (SQLite) and in PostgreSQL's linguistic collations, where upper and lower case interleave.
 * It is the given clock's time (tests' fake clocks included): only locality depends on it.
 */
export function timeOrderedId(prefix: string, nowMs: number): string {
  const time = Math.max(0, Math.floor(nowMs)).toString(36).padStart(TIME_WIDTH, '0');
  return `${prefix}_${time}${randomBase62(12)}`;
}
