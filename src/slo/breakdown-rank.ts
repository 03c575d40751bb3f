/**
 * Which breakdown values explain the bad events (pure), BubbleUp-style: a value matters when its
 * share of bad events is well above the SLO's own (the baseline) and it has volume enough to
 * matter, so a region failing 12 % of its requests ranks above a larger one failing 1 %, however
 * many bad events the larger one has. Counting what the cap pushed into `__other__` says how much
 * the combinations do not show.
 */
export interface Candidate {
  /** Attribute path → value (one attribute for a marginal, every attribute for a combination). */
  values: Record<string, string>;
  bad: number;
  total: number;
}

export interface Ranked extends Candidate {
  badRatio: number;
  /** badRatio ÷ the SLO's bad ratio over the same window. */
  lift: number;
}

/** Volume to matter: at least 1 % of the window's events, and never fewer than 10. */
export const minVolume = (overallTotal: number) => Math.max(10, Math.ceil(overallTotal * 0.01));

export function rankBreakdowns(overall: { bad: number; total: number }, candidates: Candidate[], limit: number): Ranked[] {
  if (overall.total === 0 || overall.bad === 0) return [];
  const baseline = overall.bad / overall.total;
  const floor = minVolume(overall.total);
  return candidates
    .filter((c) => c.total >= floor && c.bad > 0 && c.bad / c.total > baseline)
    .map((c) => ({ ...c, badRatio: c.bad / c.total, lift: c.bad / c.total / baseline }))
    .sort((a, b) => b.badRatio - a.badRatio || b.bad - a.bad || Object.keys(a.values).length - Object.keys(b.values).length)
    .slice(0, limit);
}
