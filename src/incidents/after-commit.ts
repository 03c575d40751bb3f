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
