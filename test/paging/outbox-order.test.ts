/**
 * The alert outbox is read by position (`seq > last seen`). On PostgreSQL a serial number is
 * assigned at insert, not at commit: a transaction that inserted first but commits last would be
 * skipped by a reader that already moved past the later number, and its alert would page nobody.
 * Transitions therefore commit in the order of their numbers (Store.serializeCommits). Here a
 * signal is held open inside its transaction while another one is sent: both must page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { startPagingStack, type PagingStack } from '../helpers/paging-stack.js';
import { waitFor } from '../helpers/paging.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const YAML = `apiVersion: keel/v1
kind: Service
metadata: {name: web}
spec: {alertGrouping: {by: [check]}}
`;

const sig = (k: string) => ({ tenant: 'acme', dedupKey: k, source: 'test', status: 'firing' as const, severity: 'page', summary: k, service: 'web', labels: { check: k } });

describe.each(['sqlite', 'postgres'] as const)('the alert outbox on %s', (engine) => {
  let ts: TestStore;
  let stack: PagingStack;
  beforeAll(async () => {
    ts = await openTestStore(engine);
    stack = await startPagingStack(ts.store, new FakeClock('2026-07-01T09:00:00Z'), YAML);
  });
  afterAll(async () => {
    await stack?.stop();
    await ts?.close();
  });

  it('processes a transition whose transaction commits after a later-started one', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let signalled!: () => void;
    const didSignal = new Promise<void>((r) => (signalled = r));
    const slow = ts.store.db.transaction().execute(async (trx) => {
      const r = await stack.alerts.signalIn(trx, sig('slow'));
      signalled();
      await held;
      return r;
    });
    await didSignal;
    // Sent while the first is still open (on SQLite it waits for the one writer, on PostgreSQL for
    // the outbox lock): without the ordering it would commit first with the higher number.
    const fast = stack.alerts.signal(sig('fast'));
    await new Promise((r) => setTimeout(r, 300));
    release();
    stack.alerts.publish(await slow);
    await fast;
    await waitFor('both alerts grouped into incidents', async () => (await ts.store.db.selectFrom('paging_alerts').select('alert_id').execute()).length === 2);
    const rows = await ts.store.db.selectFrom('paging_alerts').innerJoin('alerts', 'alerts.id', 'paging_alerts.alert_id').select('alerts.dedup_key').execute();
    expect(rows.map((x) => x.dedup_key).sort()).toEqual(['fast', 'slow']);
  });
});
