/**
 * The alert pipeline core on both stores: a signal opens an alert and appends a `firing`
 * transition to the outbox, repeats count into the open alert without a transition, a resolve
 * closes it once, the next trigger opens a new alert, and acknowledgement happens once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertService, type AlertTransition } from '../../src/alerting/alert-service.js';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

describe.each(['sqlite', 'postgres'] as const)('AlertService on %s', (engine) => {
  let ts: TestStore;
  let alerts: AlertService;
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  const t0 = Date.parse('2026-03-01T12:00:00Z');
  const published: AlertTransition[] = [];

  beforeAll(async () => {
    ts = await openTestStore(engine);
    const bus = new Bus();
    bus.on('alert.transition', (e) => published.push(e.transition));
    alerts = new AlertService(ts.store, clock, bus);
  });
  afterAll(async () => ts?.close());

  const fire = (dedupKey: string, summary = 'Disk full') => alerts.signal({ tenant: 'acme', dedupKey, source: 'manual', status: 'firing', severity: 'page', summary, labels: { host: 'db1' } });
  const resolve = (dedupKey: string) => alerts.signal({ tenant: 'acme', dedupKey, source: 'manual', status: 'resolved', severity: 'page', summary: 'ok' });

  it('opens an alert on the first signal and appends one firing transition', async () => {
    const r = await fire('disk');
    expect(r.alert).toMatchObject({ tenant: 'acme', dedupKey: 'disk', status: 'firing', count: 1, firstSeen: t0, lastSeen: t0, labels: { host: 'db1' }, resolvedAt: null });
    expect(r.transition).toMatchObject({ tenant: 'acme', alertId: r.alert.id, dedupKey: 'disk', status: 'firing', at: t0 });
    expect(published.map((p) => p.status)).toEqual(['firing']);
  });

  it('counts repeats into the open alert without a transition, keeping the latest summary', async () => {
    clock.advance(60_000);
    const r = await fire('disk', 'Disk 99% full');
    expect(r.transition).toBeUndefined();
    expect(r.alert).toMatchObject({ count: 2, summary: 'Disk 99% full', firstSeen: t0, lastSeen: t0 + 60_000 });
    expect(published).toHaveLength(1);
  });

  it('acknowledges an open alert once', async () => {
    const first = await alerts.acknowledge('acme', 'disk');
    expect(first?.transition?.status).toBe('acknowledged');
    const again = await alerts.acknowledge('acme', 'disk');
    expect(again?.transition).toBeUndefined();
    expect(await alerts.acknowledge('acme', 'unknown')).toBeUndefined();
  });

  it('resolves the open alert once; a repeated resolve or one for an unknown key changes nothing', async () => {
    clock.advance(60_000);
    const r = await resolve('disk');
    expect(r.alert).toMatchObject({ status: 'resolved', resolvedAt: t0 + 120_000 });
    expect(r.transition?.status).toBe('resolved');
    expect((await resolve('disk')).transition).toBeUndefined();
    const unknown = await resolve('never-fired');
    expect(unknown.transition).toBeUndefined();
    expect(unknown.alert.status).toBe('resolved');
  });

  it('opens a new alert when the same key fires after a resolve', async () => {
    const before = (await alerts.list('acme')).length;
    const r = await fire('disk');
    expect(r.transition?.status).toBe('firing');
    expect(await alerts.list('acme')).toHaveLength(before + 1);
  });

  it('keeps tenants apart and hands the outbox out in order after a sequence number', async () => {
    await alerts.signal({ tenant: 'other', dedupKey: 'disk', source: 'manual', status: 'firing', severity: 'page', summary: 'x' });
    expect((await alerts.list('acme')).every((a) => a.tenant === 'acme')).toBe(true);
    const all = await alerts.transitionsAfter(0, 100);
    expect(all.map((t) => [t.tenant, t.dedupKey, t.status])).toEqual([
      ['acme', 'disk', 'firing'],
      ['acme', 'disk', 'acknowledged'],
      ['acme', 'disk', 'resolved'],
      ['acme', 'disk', 'firing'],
      ['other', 'disk', 'firing'],
    ]);
    expect(all.map((t) => t.seq)).toEqual([...all.map((t) => t.seq)].sort((a, b) => a - b));
    expect(await alerts.transitionsAfter(all[2]!.seq, 100)).toHaveLength(2);
  });

  it('resolves open alerts by id (an incident resolved) with one transition each', async () => {
    const open = (await alerts.list('acme', { status: 'firing' }))[0]!;
    const results = await ts.store.db.transaction().execute((trx) => alerts.resolveIn(trx, [open.id, 'alt_unknown'], clock.now(), { by: 'incident' }));
    expect(results.map((r) => [r.alert.id, r.transition?.status, r.transition?.values])).toEqual([[open.id, 'resolved', { by: 'incident' }]]);
    expect(await ts.store.db.transaction().execute((trx) => alerts.resolveIn(trx, [open.id], clock.now(), {}))).toEqual([]);
  });
});
