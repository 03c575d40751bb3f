/**
 * The steps of a shutdown, named, so a shutdown that does not finish within
 * `server.shutdownTimeout` can say which steps were still waiting (a background loop, the NATS
 * drain, the PostgreSQL pool) before the process exits anyway.
 */
export class ShutdownSteps {
  private readonly running = new Map<string, number>();

  /** Runs one step; it counts as waiting from now until it settles. */
  async step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    let key = name;
    for (let i = 2; this.running.has(key); i++) key = `${name} (${i})`;
    this.running.set(key, Date.now());
    try {
      return await fn();
    } finally {
      this.running.delete(key);
    }
  }

  /** Steps still waiting, with how long they have waited (ms). */
  waiting(now = Date.now()): { step: string; waitingMs: number }[] {
    return [...this.running].map(([step, since]) => ({ step, waitingMs: now - since }));
  }
}
