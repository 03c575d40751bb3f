/**
 * Leader-only paging work under a lease (as the distributed runtime gives one): every
 * transaction checks the lease first, so a deposed leader writes nothing, and the loops stop
 * when the lease aborts and start again when leadership comes back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KindRegistry } from '../../src/definitions/kinds.js';
import { DefinitionsService } from '../../src/definitions/definitions-service.js';
import { pagingModule } from '../../src/paging/module.js';
import { serviceKind } from '../../src/services/service-kind.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import type { CoreContext } from '../../src/module/context.js';
import { startTestKeel, type TestKeel } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';

let t: TestKeel;
let leaderFn: ((lease: unknown) => Promise<void>) | undefined;

beforeAll(async () => {
  t = await startTestKeel({ paging: { pollInterval: 20 } } as never);
});
afterAll(async () => t?.close());

describe('paging leadership', () => {
  it('fences every transaction with the lease, and stops when the lease aborts', async () => {
    const base = t.keel.ctx;
    const kinds = new KindRegistry();
    kinds.register(serviceKind());
    const ctx: CoreContext = {
      ...base,
      kinds,
      definitions: new DefinitionsService(base.store, kinds, base.clock, base.bus),
      metrics: new KeelMetrics(),
      whileLeader: (_name, fn) => {
        leaderFn = fn as (lease: unknown) => Promise<void>;
      },
    };
    const mod = pagingModule(ctx);
    await mod.start!();
    await ctx.definitions.apply('default', [{ file: 's.yaml', content: 'apiVersion: keel/v1\nkind: Service\nmetadata: {name: fenced}\n' }], 'test');
    // The embedded instance's own module leads too: stop its consumer so only ours reads the outbox.
    await t.keel.modules.paging.consumer.stop();

    let held = false;
    let checks = 0;
    const controller = new AbortController();
    const lease = {
      signal: controller.signal,
      holder: 'test',
      assertHeld: async () => {
        checks++;
        if (!held) throw new Error('not the leader any more');
      },
    };
    const leading = leaderFn!(lease);
    await base.alerts.signal({ tenant: 'default', dedupKey: 'fence-1', source: 'manual', status: 'firing', severity: 'info', summary: 'Fenced', service: 'fenced' });
    await waitFor('a fenced attempt', () => checks > 0);
    expect(await t.keel.store.db.selectFrom('paging_alerts').selectAll().where('service', '=', 'fenced').execute()).toEqual([]);
    held = true;
    await waitFor('the alert processed once the lease is held', async () => (await t.keel.store.db.selectFrom('paging_alerts').selectAll().where('service', '=', 'fenced').execute()).length === 1);
    controller.abort();
    await leading;
    await mod.stop!();
  });
});
