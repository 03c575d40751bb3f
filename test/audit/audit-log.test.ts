/**
 * The audit log's own steps on a real store: notes before a request, forgetting a refused one,
 * settling notes a stopped process left (once, even with two instances settling at once), the
 * chain under concurrent appends, and what an entry stores (secrets redacted, defaults).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, GENESIS_HASH, hashEntry } from '../../src/audit/audit-log.js';
import { AuditQuery } from '../../src/audit/audit-query.js';
import { ChainVerifier } from '../../src/audit/verify-chain.js';
import { FakeClock } from '../../src/core/clock.js';
import type { StoreEngine } from '../../src/store/store.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

describe.each<StoreEngine>(['sqlite', 'postgres'])('the audit log on %s', (engine) => {
  let ts: TestStore;
  let audit: AuditLog;
  const clock = new FakeClock('2026-05-01T08:00:00Z');
  const T0 = clock.now();

  beforeAll(async () => {
    ts = await openTestStore(engine);
    audit = new AuditLog(ts.store, clock);
  });
  afterAll(async () => ts?.close());

  const pending = () => ts.store.db.selectFrom('audit_pending').selectAll().execute();
  const log = () => ts.store.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();

  it('stores an entry with defaults, secrets redacted, chained from the genesis hash', async () => {
    const e = await audit.record({ actor: 'system', action: 'keys.bootstrap', tenant: 'default', target: 'key/k0', after: { name: 'first', key: 'keel_secret', nested: { password: 'pw', ok: 1 } } });
    expect(e).toMatchObject({ seq: 1, at: T0, before_json: null, source_ip: '', request_id: '', ok: 1, prev_hash: GENESIS_HASH });
    expect(JSON.parse(e.after_json!)).toEqual({ name: 'first', key: '[redacted]', nested: { password: '[redacted]', ok: 1 } });
    const { hash, ...unhashed } = e;
    expect(hash).toBe(hashEntry(unhashed));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const refused = await audit.record({ actor: 'key:x', action: 'keys.create', tenant: 'acme', target: 'key/k1', before: { a: 1 }, ok: false, sourceIp: '192.0.2.1', requestId: 'r1' });
    expect(refused).toMatchObject({ seq: 2, ok: 0, before_json: '{"a":1}', after_json: null, source_ip: '192.0.2.1', request_id: 'r1', prev_hash: hash });
    expect(Number((await audit.record({ actor: 'a', action: 'b', tenant: 'c', target: 'd', ok: true })).ok)).toBe(1);
  });

  it('writes a note before a request and forgets it when the request changed nothing', async () => {
    const id = await audit.begin({ actor: 'key:x', action: 'tenants.update', tenant: 'acme', target: 'tenant/acme', sourceIp: '10.0.0.1', requestId: 'req-9' });
    expect(id).toMatch(/^[0-9A-Za-z]{20}$/);
    expect(await audit.pendingNote(id)).toMatchObject({ id, actor: 'key:x', action: 'tenants.update', tenant_id: 'acme', target: 'tenant/acme', source_ip: '10.0.0.1', request_id: 'req-9' });
    expect(Number((await audit.pendingNote(id))!.at)).toBe(T0);
    await audit.abandon(id);
    expect(await audit.pendingNote(id)).toBeUndefined();
    const bare = await audit.begin({ actor: 'a', action: 'b', tenant: 'c', target: 'd' });
    expect(await audit.pendingNote(bare)).toMatchObject({ source_ip: '', request_id: '' });
    await audit.abandon(bare);
  });

  it('replaces a finished request’s note by its entry, in one step', async () => {
    const id = await audit.begin({ actor: 'key:x', action: 'keys.revoke', tenant: 'acme', target: 'key/k1' });
    const entry = await audit.record({ actor: 'key:x', action: 'keys.revoke', tenant: 'acme', target: 'key/k1' }, id);
    expect(entry).toMatchObject({ action: 'keys.revoke' });
    expect(await audit.pendingNote(id)).toBeUndefined();
    // A note already settled elsewhere: nothing appended.
    const before = (await log()).length;
    expect(await audit.record({ actor: 'key:x', action: 'keys.revoke', tenant: 'acme', target: 'key/k1' }, id)).toBeUndefined();
    expect((await log()).length).toBe(before);
  });

  it('settles notes older than the cut-off as entries with an unknown outcome, each once', async () => {
    const old = await audit.begin({ actor: 'user:ann@acme.test', action: 'users.update', tenant: 'acme', target: 'user/u1', sourceIp: '10.0.0.2', requestId: 'req-old' });
    clock.advance(5_000);
    const fresh = await audit.begin({ actor: 'user:ann@acme.test', action: 'users.update', tenant: 'acme', target: 'user/u2' });
    const cut = clock.now();
    const before = (await log()).length;
    // Two instances settling at once: each note becomes one entry.
    const [a, b] = await Promise.all([audit.settleInterrupted(cut), audit.settleInterrupted(cut)]);
    expect(a + b).toBe(1);
    expect((await pending()).map((p) => p.id)).toEqual([fresh]);
    const rows = await log();
    expect(rows.length).toBe(before + 1);
    const settled = rows[rows.length - 1]!;
    expect(settled).toMatchObject({ actor: 'user:ann@acme.test', action: 'users.update', tenant_id: 'acme', target: 'user/u1', source_ip: '10.0.0.2', request_id: 'req-old' });
    expect(Number(settled.ok)).toBe(0);
    expect(JSON.parse(settled.after_json!)).toEqual({
      outcome: 'unknown',
      reason: 'the process stopped before the request finished: the change may or may not have been made',
      started_at: new Date(T0).toISOString(),
    });
    expect(await audit.pendingNote(old)).toBeUndefined();
    expect(await audit.settleInterrupted(cut)).toBe(0);
    expect(await audit.settleInterrupted(cut + 1)).toBe(1);
    expect(await pending()).toEqual([]);
  });

  it('fails an append the store refuses for another reason than a lost race, at once', async () => {
    const before = (await log()).length;
    await expect(audit.record({ actor: null as unknown as string, action: 'x', tenant: 't', target: 'y' })).rejects.toThrow();
    expect((await log()).length).toBe(before);
  });

  it('keeps one unbroken chain under concurrent appends', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) => audit.record({ actor: `w${i}`, action: 'x.y', tenant: 'acme', target: `t/${i}` })));
    const rows = await log();
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    expect(await new AuditQuery(ts.store).verify()).toMatchObject({ ok: true, checked: rows.length, problem: null, head: { seq: rows.length, hash: rows[rows.length - 1]!.hash } });
  });

  it('stops walking the chain once its signal is aborted (a shutdown does not wait for the walk)', async () => {
    const stopping = new AbortController();
    stopping.abort();
    await expect(new AuditQuery(ts.store).verify(undefined, stopping.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(await new AuditQuery(ts.store).verify(undefined, new AbortController().signal)).toMatchObject({ ok: true });
  });
});

describe('checking a chain (pure)', () => {
  const clock = new FakeClock('2026-05-01T08:00:00Z');
  function chain(n: number, first = 1, prev = GENESIS_HASH) {
    const out = [];
    for (let seq = first; seq < first + n; seq++) {
      const row = {
        seq,
        at: clock.now() + seq,
        actor: 'a',
        action: 'b',
        tenant_id: 't',
        target: `x/${seq}`,
        before_json: null,
        after_json: null,
        source_ip: '',
        request_id: '',
        ok: 1,
        prev_hash: prev,
      };
      const e = { ...row, hash: hashEntry(row) };
      out.push(e);
      prev = e.hash;
    }
    return out;
  }

  it('checks a whole chain, and an export that starts mid-chain by trusting its first entry', () => {
    const all = chain(5);
    const v = new ChainVerifier(true);
    expect(all.every((e) => v.push(e))).toBe(true);
    expect(v.result()).toEqual({ ok: true, checked: 5, first_seq: 1, head: { seq: 5, hash: all[4]!.hash }, problem: null });
    const mid = new ChainVerifier(false);
    expect(all.slice(2).every((e) => mid.push(e))).toBe(true);
    expect(mid.result()).toMatchObject({ ok: true, checked: 3, first_seq: 3 });
    // The whole-log check does not trust a first entry that is not entry 1.
    const whole = new ChainVerifier(true);
    expect(whole.push(all[2]!)).toBe(false);
    expect(whole.result().problem).toEqual({ seq: 1, kind: 'missing', reason: 'entry 1-2 is missing (deleted); the chain continues at 3' });
    expect(new ChainVerifier(true).result()).toEqual({ ok: true, checked: 0, first_seq: null, head: null, problem: null });
  });

  it('names a gap of one, an entry out of order, and stops at the first problem', () => {
    const all = chain(4);
    const gap = new ChainVerifier(true);
    gap.push(all[0]!);
    expect(gap.push(all[2]!)).toBe(false);
    expect(gap.result().problem).toEqual({ seq: 2, kind: 'missing', reason: 'entry 2 is missing (deleted); the chain continues at 3' });
    expect(gap.push(all[3]!)).toBe(false);
    // The first problem stays the one reported.
    expect(gap.result()).toMatchObject({ ok: false, checked: 1, head: { seq: 1 }, problem: { seq: 2, reason: 'entry 2 is missing (deleted); the chain continues at 3' } });
    const altered = new ChainVerifier(true);
    expect(altered.push({ ...all[0]!, target: 'x/other' })).toBe(false);
    expect(altered.result().problem).toEqual({ seq: 1, kind: 'altered', reason: 'entry 1 was changed after it was written: its content does not match its hash' });
    const back = new ChainVerifier(true);
    back.push(all[0]!);
    back.push(all[1]!);
    expect(back.push(all[0]!)).toBe(false);
    expect(back.result().problem).toEqual({ seq: 1, kind: 'out_of_order', reason: 'entry 1 appears after entry 2' });
    const relinked = new ChainVerifier(false);
    relinked.push(all[0]!);
    expect(relinked.push({ ...all[1]!, prev_hash: 'f'.repeat(64) })).toBe(false);
    expect(relinked.result().problem).toMatchObject({ seq: 2, kind: 'out_of_order', reason: expect.stringMatching(/^entry 2 does not follow entry 1/) });
  });

  it('checks a remembered head: gone, rewritten, or still there', () => {
    const all = chain(3);
    const v = new ChainVerifier(true);
    for (const e of all) v.push(e);
    v.anchor({ seq: 3, hash: all[2]!.hash }, all[2]!.hash);
    expect(v.result().ok).toBe(true);
    const gone = new ChainVerifier(true);
    gone.anchor({ seq: 9, hash: 'a' }, undefined);
    expect(gone.result().problem).toEqual({ seq: 9, kind: 'anchor_mismatch', reason: 'entry 9 (a remembered head) is no longer in the log: entries at the end were removed' });
    const rewritten = new ChainVerifier(true);
    rewritten.anchor({ seq: 2, hash: 'a' }, 'b');
    expect(rewritten.result().problem).toEqual({ seq: 2, kind: 'anchor_mismatch', reason: 'entry 2 does not have the remembered hash: the chain was rewritten' });
    // A problem found first is kept.
    const broken = new ChainVerifier(true);
    broken.push(all[1]!);
    broken.anchor({ seq: 2, hash: 'a' }, 'b');
    expect(broken.result().problem!.kind).toBe('missing');
  });
});
