/**
 * Every column of an audit entry is covered by its hash: changing any one of them in the stored
 * row (on SQLite and on PostgreSQL) makes `verify` name that entry as altered, and the chain is
 * whole again once the value is put back. Also the links: a forged prev_hash, a recomputed hash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, GENESIS_HASH, hashEntry } from '../../src/audit/audit-log.js';
import { AuditQuery } from '../../src/audit/audit-query.js';
import type { AuditLogTable } from '../../src/audit/tables.js';
import { FakeClock } from '../../src/core/clock.js';
import type { StoreEngine } from '../../src/store/store.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

type Column = Exclude<keyof AuditLogTable, 'seq' | 'hash' | 'prev_hash'>;

/** Each column with a different value of the same type (the stored one is in the comment). */
const TAMPERED: Record<Column, string | number | null> = {
  ok: 0, // 1: the change succeeded; 0 makes it look refused
  action: 'keys.revoke', // keys.create
  tenant_id: 'beta', // acme
  at: Date.parse('2026-03-01T10:00:00.001Z'), // one millisecond later
  source_ip: '10.0.0.9', // 192.0.2.7
  request_id: 'req-forged', // req-2
  before_json: '{"role":"admin"}', // {"role":"viewer"}
  after_json: '{"role":"viewer"}', // {"role":"admin"}
  actor: 'user:someone-else', // user:ann@acme.test
  target: 'user/usr_other', // user/usr_1
};

describe.each<StoreEngine>(['sqlite', 'postgres'])('audit entries on %s', (engine) => {
  let ts: TestStore;
  let audit: AuditLog;
  let query: AuditQuery;
  const clock = new FakeClock('2026-03-01T10:00:00Z');

  beforeAll(async () => {
    ts = await openTestStore(engine);
    audit = new AuditLog(ts.store, clock);
    query = new AuditQuery(ts.store);
    await audit.record({ actor: 'system', action: 'keys.bootstrap', tenant: 'default', target: 'key/key_0' });
    await audit.record({
      actor: 'user:ann@acme.test',
      action: 'keys.create',
      tenant: 'acme',
      target: 'user/usr_1',
      before: { role: 'viewer' },
      after: { role: 'admin' },
      sourceIp: '192.0.2.7',
      requestId: 'req-2',
      ok: true,
    });
    clock.advance(1000);
    await audit.record({ actor: 'user:ann@acme.test', action: 'keys.create', tenant: 'acme', target: 'key/key_2', after: { denied: 'keys:manage' }, ok: false });
  });
  afterAll(async () => ts?.close());

  const row = async (seq: number) => ts.store.db.selectFrom('audit_log').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();

  it('stores what was recorded, chained from the genesis hash', async () => {
    const second = await row(2);
    expect({ ...second, seq: Number(second.seq), at: Number(second.at), ok: Number(second.ok) }).toMatchObject({
      seq: 2,
      at: Date.parse('2026-03-01T10:00:00Z'),
      actor: 'user:ann@acme.test',
      action: 'keys.create',
      tenant_id: 'acme',
      target: 'user/usr_1',
      before_json: '{"role":"viewer"}',
      after_json: '{"role":"admin"}',
      source_ip: '192.0.2.7',
      request_id: 'req-2',
      ok: 1,
    });
    expect((await row(1)).prev_hash).toBe(GENESIS_HASH);
    expect(second.prev_hash).toBe((await row(1)).hash);
    expect(Number((await row(3)).ok)).toBe(0);
    expect(await query.verify()).toMatchObject({ ok: true, checked: 3, problem: null });
  });

  for (const column of Object.keys(TAMPERED) as Column[]) {
    it(`names the entry whose ${column} was changed`, async () => {
      const original = (await row(2))[column];
      expect(original).not.toEqual(TAMPERED[column]);
      await ts.store.db
        .updateTable('audit_log')
        .set({ [column]: TAMPERED[column] })
        .where('seq', '=', 2)
        .execute();
      try {
        expect((await query.verify()).problem).toMatchObject({ seq: 2, kind: 'altered' });
      } finally {
        await ts.store.db
          .updateTable('audit_log')
          .set({ [column]: original })
          .where('seq', '=', 2)
          .execute();
      }
      expect((await query.verify()).ok).toBe(true);
    });
  }

  it('names an entry whose ok was set back from refused to succeeded', async () => {
    await ts.store.db.updateTable('audit_log').set({ ok: 1 }).where('seq', '=', 3).execute();
    try {
      expect((await query.verify()).problem).toMatchObject({ seq: 3, kind: 'altered' });
    } finally {
      await ts.store.db.updateTable('audit_log').set({ ok: 0 }).where('seq', '=', 3).execute();
    }
  });

  it('names an entry whose hash was recomputed after a change: the next one no longer links to it', async () => {
    const original = await row(2);
    const forged = { ...original, seq: 2, at: Number(original.at), ok: 0 };
    const hash = hashEntry(forged);
    await ts.store.db.updateTable('audit_log').set({ ok: 0, hash }).where('seq', '=', 2).execute();
    try {
      expect((await query.verify()).problem).toMatchObject({ seq: 3, kind: 'out_of_order' });
    } finally {
      await ts.store.db.updateTable('audit_log').set({ ok: 1, hash: original.hash }).where('seq', '=', 2).execute();
    }
    expect((await query.verify()).ok).toBe(true);
  });

  it('names the first entry when its link to the genesis hash was changed', async () => {
    await ts.store.db
      .updateTable('audit_log')
      .set({ prev_hash: '1'.repeat(64) })
      .where('seq', '=', 1)
      .execute();
    try {
      expect((await query.verify()).problem).toMatchObject({ seq: 1, kind: 'out_of_order' });
    } finally {
      await ts.store.db.updateTable('audit_log').set({ prev_hash: GENESIS_HASH }).where('seq', '=', 1).execute();
    }
  });
});
