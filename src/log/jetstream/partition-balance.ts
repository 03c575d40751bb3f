/**
 * How partitions are shared among live workers, pure: every worker aims at its fair share
 * (partitions / live workers, rounded up), gives back what it holds above it, and claims free
 * partitions up to it. Claims race safely (a claim is a conditional update in the database);
 * the random order keeps workers that claim at the same moment from colliding on every partition.
 */
export function fairShare(partitions: number, liveWorkers: number): number {
  return Math.ceil(partitions / Math.max(1, liveWorkers));
}

export interface BalancePlan {
  claim: number[];
  release: number[];
}

export function balancePlan(o: { mine: readonly number[]; free: readonly number[]; partitions: number; liveWorkers: number; shuffle?: (xs: number[]) => number[] }): BalancePlan {
  const fair = fairShare(o.partitions, o.liveWorkers);
  if (o.mine.length > fair) {
    const extra = [...o.mine].sort((a, b) => b - a).slice(0, o.mine.length - fair);
    return { claim: [], release: extra };
  }
  const want = fair - o.mine.length;
  const candidates = (o.shuffle ?? shuffle)([...o.free]);
  return { claim: candidates.slice(0, want), release: [] };
}

function shuffle(xs: number[]): number[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
