/**
 * A background loop with an interruptible sleep: `wake()` cuts a wait short, `stop()` ends it.
 * Leader-only loops run one tenure at a time with `runWhile(lease)`: the loop returns as soon as
 * the leadership is lost (lease.signal aborts), so a deposed leader stops working at once, and it
 * hands the lease to its body to fence the body's writes.
 */
import type { LeaderLease } from '../module/context.js';

export class BackgroundLoop {
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly body: (lease?: LeaderLease) => Promise<number>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs body repeatedly until stop(); body returns how long to wait before the next round (ms). */
  start(): Promise<void> {
    this.running ??= this.loop(undefined);
    return this.running;
  }

  /** Runs body repeatedly while the lease holds (and until stop()); returns when it ends. */
  runWhile(lease: LeaderLease): Promise<void> {
    const run = this.loop(lease);
    this.running = run;
    return run;
  }

  private async loop(lease: LeaderLease | undefined): Promise<void> {
    const over = () => this.stopped || Boolean(lease?.signal.aborted);
    while (!over()) {
      let wait: number;
      try {
        wait = await this.body(lease);
      } catch (err) {
        if (!over()) this.onError(err);
        wait = 5000;
      }
      if (over()) break;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          lease?.signal.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, wait);
        this.wakeUp = done;
        lease?.signal.addEventListener('abort', done, { once: true });
      });
      this.wakeUp = undefined;
    }
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.running;
  }
}
