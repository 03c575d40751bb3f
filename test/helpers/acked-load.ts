/**
 * A client that keeps its own record of what Keel acknowledged: every request carries an
 * Idempotency-Key and is retried (on another ingest instance) until it gets its 202, so the
 * events acknowledged per tenant are exactly what Keel must count, whatever crashes meanwhile.
 */
import { request } from 'undici';

export interface AckedLoadOptions {
  urls: () => string[];
  keys: Record<string, string>;
  batch: number;
  concurrency: number;
  /** Pause between requests of one loop (ms), to keep the load moderate. */
  pauseMs?: number;
  label?: string;
}

export interface Outcome {
  at: number;
  status: number;
  retryAfter?: string;
}

export class AckedLoad {
  readonly acked = new Map<string, number>();
  readonly outcomes: Outcome[] = [];
  private stopping = false;
  private loops: Promise<void>[] = [];
  private cursor = 0;

  constructor(private readonly o: AckedLoadOptions) {}

  start(): void {
    const tenants = Object.keys(this.o.keys);
    this.loops = Array.from({ length: this.o.concurrency }, (_, loop) => this.loop(loop, tenants));
  }

  ackedTotal(): number {
    return [...this.acked.values()].reduce((a, b) => a + b, 0);
  }

  /** Acknowledged 202s since `since` (ms epoch). */
  acceptedSince(since: number): number {
    return this.outcomes.filter((x) => x.at >= since && x.status === 202).length;
  }

  private async loop(loop: number, tenants: string[]): Promise<void> {
    for (let n = 0; !this.stopping; n++) {
      const tenant = tenants[(loop + n) % tenants.length]!;
      const key = `${this.o.label ?? 'load'}-${loop}-${n}`;
      const body = Array.from({ length: this.o.batch }, (_, i) => JSON.stringify({ loop, n, i, service: 'checkout' })).join('\n') + '\n';
      await this.sendUntilAcknowledged(tenant, key, body);
      if (this.o.pauseMs) await new Promise((r) => setTimeout(r, this.o.pauseMs));
    }
  }

  private async sendUntilAcknowledged(tenant: string, key: string, body: string): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const urls = this.o.urls();
      const url = urls[this.cursor++ % urls.length]!;
      let status = -1;
      let retryAfter: string | undefined;
      let accepted = 0;
      let text = '';
      try {
        const res = await request(`${url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.o.keys[tenant]}`, 'content-type': 'application/x-ndjson', 'idempotency-key': key },
          body,
          headersTimeout: 20_000,
          bodyTimeout: 20_000,
        });
        text = await res.body.text();
        status = res.statusCode;
        const ra = res.headers['retry-after'];
        if (typeof ra === 'string') retryAfter = ra;
        if (status === 202) accepted = (JSON.parse(text) as { accepted: number }).accepted;
      } catch {
        status = -1;
      }
      this.outcomes.push({ at: Date.now(), status, ...(retryAfter !== undefined ? { retryAfter } : {}) });
      if (status === 202) {
        this.acked.set(tenant, (this.acked.get(tenant) ?? 0) + accepted);
        return;
      }
      if (status >= 400 && status < 500 && status !== 429) throw new Error(`request ${key} refused with ${status}: ${text}`);
      if (this.abandoned) return;
      if (Date.now() > deadline) throw new Error(`request ${key} was never acknowledged`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private abandoned = false;

  /** Stops, without waiting for requests in flight to be acknowledged (their target is gone for good). */
  async abandon(): Promise<void> {
    this.stopping = true;
    this.abandoned = true;
    await Promise.all(this.loops);
  }

  /** Stops starting requests and waits until every started one is acknowledged. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }
}
