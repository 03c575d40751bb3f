/** A background loop with an interruptible sleep: `wake()` cuts a wait short, `stop()` ends it. */
export class BackgroundLoop {
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly body: () => Promise<number>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs body repeatedly; body returns how long to wait before the next round (ms). */
  start(): Promise<void> {
    this.running ??= (async () => {
      while (!this.stopped) {
        let wait: number;
        try {
          wait = await this.body();
        } catch (err) {
          this.onError(err);
          wait = 5000;
        }
        if (this.stopped) break;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.wakeUp = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeUp = undefined;
      }
    })();
    return this.running;
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
