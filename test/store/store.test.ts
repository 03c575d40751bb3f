/**
 * The store contract, run against both engines: every repository that exists behaves the same on
 * SQLite (embedded) and PostgreSQL (distributed), concurrency included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerting/alert-service.js';
import { AuditLog, GENESIS_HASH, hashEntry } from '../../src/audit/audit-log.js';
import { ApiKeyService } from '../../src/auth/api-keys.js';
import { TenantService } from '../../src/auth/tenants.js';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import { DefinitionsService } from '../../src/definitions/definitions-service.js';
import { KindRegistry } from '../../src/definitions/kinds.js';
import { PeopleService } from '../../src/people/people-service.js';
import { lockPosition, readPosition, writePosition } from '../../src/processing/positions.js';
import { serviceKind } from '../../src/services/service-kind.js';
import type { StoreEngine } from '../../src/store/store.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const engines: StoreEngine[] = ['sqlite', 'postgres'];

describe.each(engines)('store on %s', (engine) => {
  let t: TestStore;
  const clock = new FakeClock('2026-03-01T00:00:00Z');
  let tenants: TenantService;
  let keys: ApiKeyService;

  beforeAll(async () => {
    t = await openTestStore(engine);
    tenants = new TenantService(t.store, clock);
    keys = new ApiKeyService(t.store, tenants, clock);
  });
  afterAll(async () => t?.close());

  it('reports its engine and answers a ping', async () => {
    expect(t.store.engine).toBe(engine);
    await t.store.ping();
  });

  it('tenants: creates once, lists in order, updates quotas and pauses, and tells listeners', async () => {
    const first = await tenants.ensure('zeta', { eventsPerSecond: 10, burst: 20 });
    expect(first.created).toBe(true);
    expect(first.tenant).toEqual({ id: 'zeta', createdAt: clock.now(), eventsPerSecond: 10, burst: 20, paused: false });
    expect((await tenants.ensure('zeta')).created).toBe(false);
    await tenants.ensure('alpha');
    expect((await tenants.list()).map((x) => x.id)).toEqual(['alpha', 'zeta']);
    const seen: string[] = [];
    tenants.onChange((x) => seen.push(`${x.id}:${x.paused}`));
    const { before, after } = await tenants.update('zeta', { eventsPerSecond: null, paused: true });
    expect(before.eventsPerSecond).toBe(10);
    expect(after).toMatchObject({ eventsPerSecond: null, burst: 20, paused: true });
    expect(seen).toEqual(['zeta:true']);
    await expect(tenants.require('nope')).rejects.toMatchObject({ code: 'not_found' });
    await expect(tenants.ensure('Bad Name')).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('tenants: concurrent creation of the same tenant creates it once', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => tenants.ensure('racy')));
    expect((await tenants.list()).filter((x) => x.id === 'racy')).toHaveLength(1);
    expect(results.every((r) => r.tenant.id === 'racy')).toBe(true);
  });

  it('api keys: create, authenticate, list, revoke', async () => {
    const { key, info, tenantCreated } = await keys.create({ tenant: 'keys-t', scopes: ['ingest', 'read'], createdBy: 'test', name: 'k1' });
    expect(tenantCreated).toBe(true);
    expect(info).toMatchObject({ tenant: 'keys-t', name: 'k1', scopes: ['ingest', 'read'], revokedAt: null });
    const p = await keys.authenticate(key);
    expect(p).toMatchObject({ tenant: 'keys-t', keyId: info.id, superuser: false });
    expect(p.permissions.has('events:write')).toBe(true);
    await keys.create({ tenant: 'keys-t', scopes: ['admin'], createdBy: 'test' });
    expect((await keys.list({ tenant: 'keys-t' })).length).toBe(2);
    const { after } = await keys.revoke(info.id);
    expect(after.revokedAt).toBe(clock.now());
    await expect(keys.authenticate(key)).rejects.toMatchObject({ code: 'unauthorized', message: 'API key has been revoked' });
    expect((await keys.list({ tenant: 'keys-t' })).length).toBe(1);
    expect((await keys.list({ tenant: 'keys-t', includeRevoked: true })).length).toBe(2);
    expect(await keys.count()).toBeGreaterThanOrEqual(2);
    await expect(keys.authenticate('keel_not_a_key_at_all_000000')).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(keys.create({ tenant: 'keys-t', scopes: ['root'], createdBy: 'test' })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('definitions: apply, version, history and delete', async () => {
    const kinds = new KindRegistry();
    kinds.register(serviceKind());
    const defs = new DefinitionsService(t.store, kinds, clock, new Bus());
    const doc = (desc: string) => `apiVersion: openslo/v1\nkind: Service\nmetadata:\n  name: checkout\nspec:\n  description: ${desc}\n`;
    const plan = await defs.apply('defs-t', [{ file: 'svc.yaml', content: doc('first') }], 'test');
    expect(plan.summary.create).toBe(1);
    clock.advance(1000);
    await defs.apply('defs-t', [{ file: 'svc.yaml', content: doc('second') }], 'test');
    const got = await defs.get('defs-t', 'Service', 'checkout');
    expect(got).toMatchObject({ version: 2, spec: { description: 'second' }, updatedAt: clock.now() });
    const history = await defs.history('defs-t', 'Service', 'checkout');
    expect(history.map((h) => [h.version, h.action])).toEqual([
      [1, 'create'],
      [2, 'update'],
    ]);
    expect(history[1]!.diff).toEqual([{ path: 'description', before: 'first', after: 'second' }]);
    await defs.remove('defs-t', 'Service', 'checkout', 'test');
    expect(await defs.list('defs-t')).toEqual([]);
    expect((await defs.history('defs-t', 'Service', 'checkout')).map((h) => h.action)).toEqual(['create', 'update', 'delete']);
  });

  it('alerts: open, repeat, resolve, and the transitions outbox in order', async () => {
    const alerts = new AlertService(t.store, clock, new Bus());
    const base = { tenant: 'alerts-t', dedupKey: 'db-down', source: 'manual', severity: 'page', summary: 'db down' };
    const opened = await alerts.signal({ ...base, status: 'firing', labels: { team: 'core' }, values: { burn: 14.4 } });
    expect(opened.transition).toMatchObject({ status: 'firing', values: { burn: 14.4 } });
    const repeat = await alerts.signal({ ...base, status: 'firing' });
    expect(repeat.transition).toBeUndefined();
    expect(repeat.alert.count).toBe(2);
    clock.advance(60_000);
    const resolved = await alerts.signal({ ...base, status: 'resolved' });
    expect(resolved.alert).toMatchObject({ status: 'resolved', resolvedAt: clock.now() });
    const again = await alerts.signal({ ...base, status: 'firing' });
    expect(again.alert.id).not.toBe(opened.alert.id);
    const transitions = await alerts.transitionsAfter(opened.transition!.seq - 1);
    expect(transitions.map((x) => x.status)).toEqual(['firing', 'resolved', 'firing']);
    expect(transitions.every((x, i) => i === 0 || x.seq > transitions[i - 1]!.seq)).toBe(true);
    expect((await alerts.list('alerts-t', { status: 'firing' })).map((a) => a.id)).toEqual([again.alert.id]);
    expect(await alerts.get('alerts-t', opened.alert.id)).toMatchObject({ status: 'resolved', count: 2 });
    expect(opened.alert.labels).toEqual({ team: 'core' });
  });

  it('alerts: concurrent signals for a new dedup key open one alert and count every signal', async () => {
    const alerts = new AlertService(t.store, clock, new Bus());
    const base = { tenant: 'race-t', dedupKey: 'burst', source: 'manual', severity: 'page', summary: 'x', status: 'firing' as const };
    const results = await Promise.all(Array.from({ length: 6 }, () => alerts.signal(base)));
    expect(results.filter((r) => r.transition).length).toBe(1);
    const open = await alerts.list('race-t', { status: 'firing' });
    expect(open).toHaveLength(1);
    expect(open[0]!.count).toBe(6);
  });

  it('alerts: the store refuses a second open alert with the same dedup key', async () => {
    const row = (id: string) => ({
      id,
      tenant_id: 'uniq-t',
      dedup_key: 'k',
      source: 'manual',
      service: null,
      status: 'firing',
      severity: 'page',
      summary: 's',
      labels_json: '{}',
      details_json: '{}',
      links_json: '[]',
      first_seen: 1,
      last_seen: 1,
      count: 1,
      resolved_at: null,
    });
    await t.store.db.insertInto('alerts').values(row('alt_a')).execute();
    await expect(t.store.db.insertInto('alerts').values(row('alt_b')).execute()).rejects.toThrow();
    await t.store.db
      .insertInto('alerts')
      .values({ ...row('alt_c'), status: 'resolved' })
      .execute();
  });

  it('positions: default 0, upsert, and a row lock that serialises concurrent consumers', async () => {
    expect(await readPosition(t.store.db, 'proc', 3)).toBe(0);
    await writePosition(t.store.db, 'proc', 3, 42, clock.now());
    await writePosition(t.store.db, 'proc', 3, 43, clock.now());
    expect(await readPosition(t.store.db, 'proc', 3)).toBe(43);
    // Two "workers" race to advance the same partition past 50: exactly one wins, the other sees
    // the winner's position inside its own transaction.
    const outcomes = await Promise.all(
      [1, 2].map((w) =>
        t.store.db.transaction().execute(async (trx) => {
          const committed = await lockPosition(trx, 'proc', 3, clock.now());
          if (committed >= 50) return `worker ${w} skipped at ${committed}`;
          await writePosition(trx, 'proc', 3, 50, clock.now());
          return `worker ${w} advanced from ${committed}`;
        }),
      ),
    );
    expect(outcomes.filter((o) => o.includes('advanced from 43'))).toHaveLength(1);
    expect(outcomes.filter((o) => o.includes('skipped at 50'))).toHaveLength(1);
    expect(await lockPosition(t.store.db, 'fresh', 0, clock.now())).toBe(0);
  });

  it('audit: concurrent writers keep one unbroken hash chain', async () => {
    const audit = new AuditLog(t.store, clock);
    await Promise.all(Array.from({ length: 12 }, (_, i) => audit.record({ actor: `key:k${i}`, action: 'test.write', tenant: 'audit-t', target: `x/${i}`, after: { i, secret: 'hide-me' } })));
    const rows = await t.store.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    expect(rows.length).toBe(12);
    let prev = GENESIS_HASH;
    rows.forEach((r, i) => {
      expect(Number(r.seq)).toBe(i + 1);
      expect(r.prev_hash).toBe(prev);
      const { hash, ...rest } = r;
      expect(hashEntry({ ...rest, seq: Number(rest.seq), at: Number(rest.at), ok: Number(rest.ok) })).toBe(hash);
      expect(r.after_json).not.toContain('hide-me');
      prev = r.hash;
    });
  });

  it('people: users, emails case-insensitive, roles and memberships', async () => {
    const people = new PeopleService(t.store, clock);
    const ann = await people.upsert({ email: 'Ann@Example.com', name: 'Ann', timeZone: 'Europe/Berlin' });
    expect(ann.email).toBe('ann@example.com');
    const again = await people.upsert({ email: 'ann@example.com', name: 'Ann B' });
    expect(again.id).toBe(ann.id);
    expect((await people.byId(ann.id))?.name).toBe('Ann B');
    const bob = await people.upsert({ email: 'bob@example.com', name: 'Bob' });
    await people.setRole('team-a', ann.id, 'admin');
    await people.setRole('team-a', bob.id, 'viewer');
    await people.setRole('team-a', bob.id, 'responder');
    expect((await people.members('team-a')).map((m) => [m.email, m.role])).toEqual([
      ['ann@example.com', 'admin'],
      ['bob@example.com', 'responder'],
    ]);
    expect(await people.memberships(bob.id)).toEqual([{ tenant: 'team-a', userId: bob.id, role: 'responder' }]);
    await people.removeMember('team-a', bob.id);
    await people.setDisabled(bob.id, true);
    expect((await people.byEmail('BOB@example.com'))?.disabled).toBe(true);
    expect((await people.members('team-a')).length).toBe(1);
    await expect(people.upsert({ email: 'c@example.com', name: 'C', timeZone: 'Mars/Olympus' })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
