/**
 * The breakdown of one window, read from the counters: the candidates `rankBreakdowns` orders
 * (full combinations and per-attribute marginals) and what the combinations' `__other__` holds.
 * `keel slo status` and the SLO page both read it, so a responder sees the same values in both.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { parseBreakdownKey } from './breakdown-keys.js';
import type { Candidate } from './breakdown-rank.js';
import { sumWindows } from './counter-reader.js';

export interface WindowBreakdown {
  candidates: Candidate[];
  /** Bad and total events the capped combinations put in `__other__`. */
  other: { bad: number; total: number };
}

/** `names`: the breakdown attribute paths, dotted; `rows`: the generation's breakdown series (not the overall one). */
export async function windowBreakdown(
  db: Kysely<Database> | Transaction<Database>,
  names: string[],
  rows: { id: number | bigint | string; breakdown: string }[],
  window: { from: number; to: number },
): Promise<WindowBreakdown> {
  const keys = rows.map((r) => ({ id: Number(r.id), key: parseBreakdownKey(r.breakdown) }));
  const sums = (
    await sumWindows(
      db,
      keys.map((k) => k.id),
      [window],
    )
  ).map((x) => x[0]!);
  const candidates: Candidate[] = [];
  const other = { bad: 0, total: 0 };
  keys.forEach(({ key }, i) => {
    const c = sums[i]!;
    const counts = { bad: c.total - c.good, total: c.total };
    if (key.kind === 'combo' && key.other) {
      other.bad += counts.bad;
      other.total += counts.total;
    } else if (key.kind === 'combo') candidates.push({ values: Object.fromEntries(names.map((n, j) => [n, key.values[j] ?? ''])), ...counts });
    else if (key.kind === 'marginal' && !key.other) candidates.push({ values: { [names[key.attribute] ?? String(key.attribute)]: key.value }, ...counts });
  });
  return { candidates, other };
}
