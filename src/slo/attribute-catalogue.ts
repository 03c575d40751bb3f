/**
 * Which attributes a tenant's events carry, sampled from the newest batches of the log, so an SLO
 * whose CEL reads an attribute no recent event has gets a warning at plan/apply time and in its
 * status ("references nothing"). It is a sample, hence a warning rather than an error.
 */
import type { EventLog } from '../log/event-log.js';
import { eventLines } from '../log/event-log.js';

const BATCHES_PER_PARTITION = 50;
const EVENTS_PER_BATCH = 50;
const MAX_PATHS = 5000;

export class AttributeCatalogue {
  private readonly seen = new Map<string, Set<string>>();

  /** Samples the newest batches of every partition. */
  async refresh(log: EventLog): Promise<void> {
    const stats = await log.stats();
    for (let p = 0; p < log.partitions; p++) {
      const last = stats.lastPositions[p] ?? 0;
      const batches = await log.read(p, Math.max(0, last - BATCHES_PER_PARTITION), { maxBatches: BATCHES_PER_PARTITION, maxBytes: 8 * 1024 * 1024 });
      for (const b of batches) {
        let n = 0;
        for (const line of eventLines(b.data)) {
          if (n++ >= EVENTS_PER_BATCH) break;
          try {
            this.add(b.tenant, JSON.parse(line) as unknown);
          } catch {
            // stored events are valid JSON; a damaged line is simply not sampled
          }
        }
      }
    }
  }

  add(tenant: string, event: unknown): void {
    let set = this.seen.get(tenant);
    if (!set) {
      set = new Set();
      this.seen.set(tenant, set);
    }
    const walk = (v: unknown, prefix: string) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return;
      for (const [k, x] of Object.entries(v)) {
        if (set.size >= MAX_PATHS) return;
        const path = prefix ? `${prefix}\u0000${k}` : k;
        set.add(path);
        walk(x, path);
      }
    };
    walk(event, '');
  }

  /** Paths (dotted) no sampled event of the tenant has; empty when nothing was sampled yet. */
  unseen(tenant: string, paths: readonly (readonly string[])[]): string[] {
    const set = this.seen.get(tenant);
    if (!set || set.size === 0) return [];
    return paths.filter((p) => p[0] !== 'ts' && !set.has(p.join('\u0000'))).map((p) => p.join('.'));
  }
}
