import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

/**
 * Called first in every transaction of leader-only work: throws unless this process still holds
 * the leadership (the distributed mode's lease), so a deposed leader's writes roll back.
 */
export type Fence = (trx: Transaction<Database>) => Promise<void>;

/**
 * Effects that must wait until a transaction committed (bus events, waking loops, metrics):
 * collected while the transaction runs, run once it committed, dropped if it rolled back.
 */
export class AfterCommit {
  private readonly fns: (() => void)[] = [];

  add(fn: () => void): void {
    this.fns.push(fn);
  }

  run(onError: (err: unknown) => void = () => undefined): void {
    for (const fn of this.fns.splice(0)) {
      try {
        fn();
      } catch (e) {
        onError(e);
      }
    }
  }
}
