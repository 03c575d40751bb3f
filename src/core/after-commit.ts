/**
 * Transactions of domain work: their fence and their after-commit effects. Generic over the
 * transaction type, since core/ knows no schema (`store/schema.ts` names the concrete `DbFence`).
 */
import type { Kysely, Transaction } from 'kysely';

/**
 * Called first in every transaction of leader-only work: throws unless this process still holds
 * the leadership (the distributed mode's lease), so a deposed leader's writes roll back.
 */
export type Fence<Trx> = (trx: Trx) => Promise<void>;

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

/**
 * Runs `fn` in a transaction, then its after-commit effects; a failure `retry` accepts (a unique
 * clash or a version conflict with a concurrent writer) runs it again from the start.
 */
export async function inRetriedTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Transaction<DB>, fx: AfterCommit) => Promise<T>, retry: (err: unknown, attempt: number) => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const fx = new AfterCommit();
    try {
      const result = await db.transaction().execute((trx) => fn(trx, fx));
      fx.run();
      return result;
    } catch (e) {
      if (!retry(e, attempt)) throw e;
    }
  }
}
