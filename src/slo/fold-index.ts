/**
 * A discrimination index over a tenant's SLO filters, as rule engines build: each generation whose
 * filter requires an attribute to equal one of some literals (`service == "checkout"`,
 * `region in [...]`) is filed under that attribute and those values, so an event is tested only
 * against the generations filed under its own values, plus those no predicate indexes. With a
 * thousand SLOs over a hundred services an event meets about ten filters instead of a thousand.
 *
 * Exact by construction (see src/cel/predicates.ts): a generation is skipped only when its filter
 * cannot be true for the event. test/slo/fold-index.test.ts folds random SLO sets and events both
 * ways and compares every counter.
 */
import type { AttributeSlots } from '../cel/attribute-slots.js';
import { equalityPredicates, type EqualityPredicate } from '../cel/predicates.js';
import type { CelValue } from '../cel/values.js';

export interface FoldIndexLookup {
  /** The record slot of the indexed attribute. */
  slot: number;
  /** Generation positions (in the plan's `gens`) filed under each value. */
  byValue: Map<CelValue, number[]>;
}

export interface FoldIndex {
  lookups: FoldIndexLookup[];
  /** Generations tested against every event: no filter, or no equality predicate in it. */
  always: number[];
}

const keyOf = (path: readonly string[]) => path.join('\u0000');

/**
 * `filters[i]` is generation i's filter source (undefined: it counts every event). Each indexed
 * generation is filed under one predicate: the one whose attribute has the most distinct values
 * across the tenant's filters (the most selective on average), then the one with fewest values.
 */
export function buildFoldIndex(filters: readonly (string | undefined)[], slots: AttributeSlots): FoldIndex {
  const predicates = filters.map((f) => (f === undefined ? [] : equalityPredicates(f)));
  const distinct = new Map<string, Set<unknown>>();
  for (const list of predicates) {
    for (const p of list) {
      const k = keyOf(p.path);
      let set = distinct.get(k);
      if (!set) distinct.set(k, (set = new Set()));
      for (const v of p.values) set.add(v);
    }
  }
  const bySlot = new Map<number, FoldIndexLookup>();
  const always: number[] = [];
  predicates.forEach((list, gen) => {
    const best = choose(list, distinct);
    if (!best) {
      always.push(gen);
      return;
    }
    const slot = slots.slot(best.path);
    let lookup = bySlot.get(slot);
    if (!lookup) bySlot.set(slot, (lookup = { slot, byValue: new Map() }));
    for (const v of new Set(best.values)) {
      const gens = lookup.byValue.get(v);
      if (gens) gens.push(gen);
      else lookup.byValue.set(v, [gen]);
    }
  });
  return { lookups: [...bySlot.values()], always };
}

function choose(list: EqualityPredicate[], distinct: Map<string, Set<unknown>>): EqualityPredicate | undefined {
  let best: EqualityPredicate | undefined;
  let bestDistinct = -1;
  for (const p of list) {
    const d = distinct.get(keyOf(p.path))!.size;
    if (d > bestDistinct || (d === bestDistinct && best !== undefined && p.values.length < best.values.length)) {
      best = p;
      bestDistinct = d;
    }
  }
  return best;
}
