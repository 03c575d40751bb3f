/**
 * Conditions of the alerts about Keel that need a cluster to happen for real, checked on the
 * distributed mode's store. KeelConsumerLagHigh sums a processor's lag over partitions (as the
 * Prometheus rule does) from the log's statistics. KeelLeaderLost: on PostgreSQL (the distributed mode's store, a fresh schema), a
 * leadership whose lease nobody renewed fires after the rule's 2 minutes, not before, and
 * resolves once a holder renews it. The event log is not needed here: a log that cannot answer
 * (as NATS down) must not hide the other conditions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerting/alert-service.js';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import type { EventLog } from '../../src/log/event-log.js';
import { SelfAlerts } from '../../src/selfwatch/self-alerts.js';
import { CONSUMER_LAG, LEADER_LOST } from '../../src/selfwatch/thresholds.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

let db: TestStore;
beforeAll(async () => {
  db = await openTestStore('postgres');
});
afterAll(async () => db?.close());

const unreachableLog = { stats: async () => Promise.reject(new Error('nats: disconnected')) } as unknown as EventLog;

async function alerts() {
  return db.store.db.selectFrom('alerts').select(['tenant_id', 'dedup_key', 'status', 'severity', 'service', 'labels_json']).where('tenant_id', '=', 'keel-system').execute();
}

describe('KeelLeaderLost raised by Keel', () => {
  it('fires 2 minutes after a lease expired unrenewed, and resolves once it is held again', async () => {
    const clock = new FakeClock('2026-12-04T12:00:00Z');
    const t0 = clock.now();
    await db.store.db
      .insertInto('leader_leases')
      .values({ name: 'slo-evaluator', holder: 'evaluator-1', epoch: 3, expires_at: t0 - 1000, tenure_id: 1 })
      .execute();
    await db.store.db
      .insertInto('leader_leases')
      .values({ name: 'paging', holder: 'evaluator-1', epoch: 1, expires_at: t0 + 3_600_000, tenure_id: 2 })
      .execute();
    const watcher = new SelfAlerts({
      alerts: new AlertService(db.store, clock, new Bus()),
      store: db.store,
      log: unreachableLog,
      clock,
      logger: createLogger('silent'),
      config: loadConfig({ env: {}, overrides: {} }),
    });
    const check = async () => watcher.report(await watcher.evaluate(), [LEADER_LOST]);

    await check();
    clock.advance(119_000);
    await check();
    expect(await alerts()).toEqual([]);
    clock.advance(1_000);
    await check();
    const fired = await alerts();
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ dedup_key: 'keel/KeelLeaderLost/slo-evaluator', status: 'firing', severity: 'critical', service: 'keel' });
    expect(JSON.parse(fired[0]!.labels_json)).toEqual({ alertname: 'KeelLeaderLost', runbook_url: 'docs/runbooks/leader-lost.md', instance: 'slo-evaluator' });

    // A standby takes the leadership: the lease is renewed into the future.
    await db.store.db
      .updateTable('leader_leases')
      .set({ holder: 'evaluator-2', epoch: 4, expires_at: clock.now() + 5_000 })
      .where('name', '=', 'slo-evaluator')
      .execute();
    await check();
    expect((await alerts()).map((a) => [a.dedup_key, a.status])).toEqual([['keel/KeelLeaderLost/slo-evaluator', 'resolved']]);
  });
});

describe('KeelConsumerLagHigh raised by Keel', () => {
  it('sums a processor’s lag over partitions and fires after 10 minutes over a million events', async () => {
    const clock = new FakeClock('2026-12-04T13:00:00Z');
    let lag = [600_000, 400_000];
    const log = {
      stats: async () => ({
        consumers: [
          { name: 'usage', partition: 0, lagEvents: lag[0] },
          { name: 'usage', partition: 1, lagEvents: lag[1] },
          { name: 'slo', partition: 0, lagEvents: 10 },
        ],
      }),
    } as unknown as EventLog;
    const watcher = new SelfAlerts({
      alerts: new AlertService(db.store, clock, new Bus()),
      store: db.store,
      log,
      clock,
      logger: createLogger('silent'),
      config: loadConfig({ env: {}, overrides: {} }),
    });
    const check = async () =>
      watcher.report(
        (await watcher.evaluate()).filter((c) => c.rule === CONSUMER_LAG),
        [CONSUMER_LAG],
      );
    const lagAlerts = async () => (await alerts()).filter((a) => a.dedup_key.startsWith('keel/KeelConsumerLagHigh'));

    // Exactly a million is not over the threshold.
    await check();
    clock.advance(11 * 60_000);
    await check();
    expect(await lagAlerts()).toEqual([]);
    lag = [600_001, 400_000];
    await check();
    clock.advance(10 * 60_000);
    await check();
    expect((await lagAlerts()).map((a) => [a.dedup_key, a.status, a.severity])).toEqual([['keel/KeelConsumerLagHigh/usage', 'firing', 'warning']]);
    lag = [0, 0];
    await check();
    expect((await lagAlerts()).map((a) => a.status)).toEqual(['resolved']);
  });
});
