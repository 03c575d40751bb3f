/**
 * `keel verify counts` reads the log up to the positions the counters stand for. A log that
 * answers nothing for a moment (JetStream just restarted, a temporary consumer timed out) must be
 * read again: stopping at the first empty answer reported every later batch as counted but not
 * in the log (seen in test/dist/restart-fault.test.ts right after a NATS restart).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventLog, LogBatch } from '../../src/log/event-log.js';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-event-log.js';
import { runCountChecks, type CountCheck } from '../../src/processing/count-check.js';
import { writePosition } from '../../src/processing/positions.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

let dir: string;
let log: SqliteEventLog;
let ts: TestStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-count-check-'));
  log = await SqliteEventLog.open({ path: join(dir, 'log.db') });
  ts = await openTestStore('sqlite');
  for (let n = 1; n <= 6; n++) await log.append({ tenant: 'acme', data: Buffer.from(`{"n":${n}}\n`), count: 1, minTs: 1000, maxTs: 1000, receivedAt: 1000 });
  await writePosition(ts.store.db, 'usage', 0, 6, 1000);
});
afterEach(async () => {
  await log.close();
  await ts.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The real log, answering at most up to position 2 first, then nothing to the next `empty` reads. */
function flaky(inner: EventLog, empty: number): EventLog {
  let left = empty;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'read') {
        return async (partition: number, after: number, opts: unknown) => {
          if (after >= 2 && left > 0) {
            left--;
            return [];
          }
          const page = await (target.read as (p: number, a: number, o: unknown) => Promise<LogBatch[]>).call(target, partition, after, opts);
          return after < 2 ? page.filter((b) => b.position <= 2) : page;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function collector(): CountCheck<number[]> & { seen: number[] } {
  const seen: number[] = [];
  return { consumer: 'usage', seen, load: async () => undefined, add: (batches) => seen.push(...batches.map((b) => b.position)), result: () => seen };
}

describe('the count check reading the log', () => {
  it('reads again when the log answers nothing for a moment, and sees every batch', async () => {
    const check = collector();
    const run = await runCountChecks({ log: flaky(log, 2), store: ts.store, since: 0, now: 2000, checks: [check] });
    expect(check.seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(run.partitions[0]!.batchesRead).toBe(6);
  });

  it('refuses to compare (unavailable) when the log keeps answering nothing short of the counted position', async () => {
    const check = collector();
    await expect(runCountChecks({ log: flaky(log, 1000), store: ts.store, since: 0, now: 2000, checks: [check] })).rejects.toThrow(/answered no batch of partition 0 after position 2.*position 6/);
  }, 30_000);
});
