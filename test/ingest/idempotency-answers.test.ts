/**
 * Idempotency-Key answers shared by ingest instances (the distributed mode's store), on both
 * engines: one reservation per key whoever races for it, the same batch id for every attempt,
 * an answer recorded only for the body it was reserved with, and pruning by age.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyAnswers, idempotentBatchId } from '../../src/log/jetstream/idempotency.js';
import type { StoreEngine } from '../../src/store/store.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

describe('idempotent batch ids', () => {
  it('are the same for a tenant and key, and differ for another tenant or key', () => {
    expect(idempotentBatchId('acme', 'k1')).toBe(idempotentBatchId('acme', 'k1'));
    expect(idempotentBatchId('acme', 'k1')).toMatch(/^i[\w-]{24}$/);
    expect(idempotentBatchId('acme', 'k1')).not.toBe(idempotentBatchId('beta', 'k1'));
    expect(idempotentBatchId('acme', 'k1')).not.toBe(idempotentBatchId('acme', 'k2'));
    // The separator keeps "ab"+"c" apart from "a"+"bc".
    expect(idempotentBatchId('ab', 'c')).not.toBe(idempotentBatchId('a', 'bc'));
  });
});

describe.each<StoreEngine>(['sqlite', 'postgres'])('Idempotency-Key answers on %s', (engine) => {
  let ts: TestStore;
  let answers: IdempotencyAnswers;
  beforeAll(async () => {
    ts = await openTestStore(engine);
    answers = new IdempotencyAnswers(ts.store);
  });
  afterAll(async () => ts?.close());

  it('reserves a key once: concurrent attempts see the first reservation', async () => {
    const attempts = await Promise.all([answers.reserve('acme', 'k1', 'h1', 1_000), answers.reserve('acme', 'k1', 'h2', 2_000), answers.reserve('acme', 'k1', 'h1', 3_000)]);
    expect(attempts.filter((a) => a.mine)).toHaveLength(1);
    const first = attempts.find((a) => a.mine)!;
    for (const a of attempts) expect(a).toMatchObject({ bodyHash: first.bodyHash, createdAt: first.createdAt, response: null, batchId: idempotentBatchId('acme', 'k1') });
    expect(await answers.find('acme', 'k1')).toBeUndefined();
  });

  it('records the answer for the reserved body only, and finds it per tenant and key', async () => {
    const r = await answers.reserve('acme', 'k2', 'body-a', 10_000);
    expect(r).toEqual({ bodyHash: 'body-a', response: null, batchId: idempotentBatchId('acme', 'k2'), createdAt: 10_000, mine: true });
    await answers.complete('acme', 'k2', 'body-b', '{"wrong":true}');
    expect(await answers.find('acme', 'k2')).toBeUndefined();
    await answers.complete('acme', 'k2', 'body-a', '{"accepted":3}');
    expect(await answers.find('acme', 'k2')).toEqual({ response: '{"accepted":3}', bodyHash: 'body-a' });
    expect(await answers.find('beta', 'k2')).toBeUndefined();
    expect(await answers.find('acme', 'k3')).toBeUndefined();
    const again = await answers.reserve('acme', 'k2', 'body-a', 20_000);
    expect(again).toMatchObject({ mine: false, response: '{"accepted":3}', createdAt: 10_000 });
    // Another tenant's same key is a reservation of its own.
    expect(await answers.reserve('beta', 'k2', 'body-a', 20_000)).toMatchObject({ mine: true, batchId: idempotentBatchId('beta', 'k2') });
  });

  it('prunes answers older than the cut-off, and only those', async () => {
    await answers.reserve('acme', 'p-old', 'h', 50_000);
    await answers.reserve('acme', 'p-edge', 'h', 60_000);
    const before = await ts.store.db.selectFrom('ingest_idempotency').select('key').where('created_at', '<', 60_000).execute();
    expect(await answers.prune(60_000)).toBe(before.length);
    const left = (await ts.store.db.selectFrom('ingest_idempotency').select('key').execute()).map((r) => r.key);
    expect(left).toContain('p-edge');
    expect(left).not.toContain('p-old');
    expect(await answers.prune(60_000)).toBe(0);
  });
});
