/**
 * The heartbeat checker's loop belongs to one leader tenure: when a tenure ends while its loop is
 * still inside a transaction and the next tenure starts in the same process, the old loop must
 * stop (not be revived by the new run) and must never check with the new tenure's fence.
 */
import type { Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeartbeatService } from '../../../src/paging/integrations/heartbeats.js';
import type { Database } from '../../../src/store/schema.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { startTestKeel, type TestKeel } from '../../helpers/keel.js';
import { waitFor } from '../../helpers/paging.js';

let t: TestKeel;

beforeAll(async () => {
  t = await startTestKeel();
  // Overdue, so every round of the checker opens a fenced transaction for it.
  await t.keel.store.db
    .insertInto('heartbeats')
    .values({ tenant_id: 'system', name: 'nightly', service: 'checkout', interval_ms: 60_000, grace_ms: 0, severity: 'critical', last_ping_at: null, due_at: 1, status: 'up', updated_at: 1 })
    .execute();
});
afterAll(async () => t?.close());

describe('heartbeat checker tenures', () => {
  it("a deposed tenure's loop ends and never uses the next tenure's fence", async () => {
    const { ctx } = t.keel;
    const service = new HeartbeatService({ store: ctx.store, clock: ctx.clock, alerts: ctx.alerts, logger: createLogger('silent'), pollIntervalMs: 20 });
    let releaseA: (() => void) | undefined;
    const blockedA = new Promise<void>((r) => (releaseA = r));
    let insideA = false;
    let callsA = 0;
    // Tenure A's fence: the first call waits (a transaction in flight when the lease is lost),
    // then refuses, as a lost lease does.
    const fenceA = async (_trx: Transaction<Database>) => {
      callsA++;
      insideA = true;
      await blockedA;
      throw new Error('tenure A no longer leads');
    };
    let callsB = 0;
    // Tenure B refuses too (the heartbeat stays overdue, so every round calls a fence).
    const fenceB = async (_trx: Transaction<Database>) => {
      callsB++;
      throw new Error('tenure B: refused for the test');
    };
    service.run(fenceA);
    await waitFor('tenure A inside its fenced transaction', () => insideA || undefined);
    const stoppingA = service.stop();
    service.run(fenceB);
    releaseA!();
    // A's loop ends (it used to be revived by run(B) and its stop never returned) ...
    await stoppingA;
    expect(callsA).toBe(1);
    // ... and B's loop goes on with B's fence only.
    const before = callsB;
    await waitFor('tenure B checking', () => callsB > before + 2 || undefined);
    expect(callsA).toBe(1);
    await service.stop();
  }, 30_000);
});
