/**
 * The one background loop of Keel's workers (SLO backfill, evaluation and pruning; paging's outbox
 * consumer, escalation timers, notification delivery and heartbeat checks). Each round of the
 * body returns how long to wait before the next (0: at once, after the event loop's other work);
 * `wake()` cuts a wait short, and a wake that comes while a round runs is kept, so work signalled
 * mid-round waits no poll interval. A failed round is reported to `onError`, which says how long
 * to wait given the failures in a row (a round that returns resets the count).
 *
 * Leader-only loops run one tenure at a time: `run(context, signal?)` starts one with what its
 * writes are fenced with (a fence or the leader lease), and the tenure ends at `stop()` or when the
 * signal aborts (the leadership was lost), whichever is first; a new `run()` starts a new tenure.
 * The context and the end belong to the tenure, not to the loop: a tenure still finishing its last
 * round when the next one starts neither picks up the next tenure's fence nor is revived by it.
 */
import { Waker } from './waker.js';

/** One tenure of a loop, as its body sees it. */
export interface Tenure<T> {
  /** What this tenure was started with: the fence (or lease) its transactions check first. */
  readonly context: T;
  /** True once this tenure ended (stop(), or its signal aborted): stop working, start nothing new. */
  readonly over: boolean;
  /** Rounds of this tenure that returned so far (0 in its first, and until one returns). */
  readonly rounds: number;
}

interface Running<T> {
  tenure: { context: T; over: boolean; rounds: number };
  done: Promise<void>;
}

export class BackgroundLoop<T = undefined> {
  private readonly waker = new Waker();
  private current: Running<T> | undefined;
  private closed = false;

  constructor(
    private readonly body: (tenure: Tenure<T>) => Promise<number>,
    /** Reports a failed round; returns how long to wait before the next (ms), given the failures in a row (1 for the first). */
    private readonly onError: (err: unknown, failures: number) => number,
  ) {}

  /** Starts a tenure (after stop() of the previous one); resolves when it is over. */
  run(context: T, signal?: AbortSignal): Promise<void> {
    const tenure = { context, over: this.closed || Boolean(signal?.aborted), rounds: 0 };
    const end = () => {
      tenure.over = true;
      this.waker.wake();
    };
    signal?.addEventListener('abort', end, { once: true });
    const running: Running<T> = { tenure, done: this.loop(tenure).finally(() => signal?.removeEventListener('abort', end)) };
    this.current = running;
    return running.done;
  }

  wake(): void {
    this.waker.wake();
  }

  /** Ends the current tenure and waits for its last round. */
  async stop(): Promise<void> {
    const running = this.current;
    if (!running) return;
    running.tenure.over = true;
    this.waker.wake();
    await running.done;
  }

  /** stop(), and no tenure starts any more (the process is shutting down). */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private async loop(tenure: Running<T>['tenure']): Promise<void> {
    let failures = 0;
    while (!tenure.over) {
      let wait: number;
      try {
        wait = await this.body(tenure);
        failures = 0;
        tenure.rounds++;
      } catch (err) {
        if (tenure.over) break;
        wait = this.onError(err, ++failures);
      }
      if (tenure.over) break;
      // SQLite resolves synchronously: a loop with more work at once still lets HTTP and timers run.
      await (wait > 0 ? this.waker.sleep(wait) : new Promise((r) => setImmediate(r)));
    }
  }
}
