/**
 * Consumer positions on both stores: a consumer starts at 0, a position written in a transaction
 * is there after its commit and gone after its rollback, and partitions and consumers are apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPosition, writePosition } from '../../src/processing/positions.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

describe.each(['sqlite', 'postgres'] as const)('positions on %s', (engine) => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await openTestStore(engine);
  });
  afterAll(async () => ts?.close());

  it('starts at 0, and keeps what a committed transaction wrote', async () => {
    expect(await readPosition(ts.store.db, 'probe')).toBe(0);
    await ts.store.db.transaction().execute((trx) => writePosition(trx, 'probe', 0, 17, 1));
    expect(await readPosition(ts.store.db, 'probe')).toBe(17);
    await ts.store.db.transaction().execute((trx) => writePosition(trx, 'probe', 0, 18, 2));
    expect(await readPosition(ts.store.db, 'probe', 0)).toBe(18);
  });

  it('loses what a rolled-back transaction wrote (the position commits with the results, or not at all)', async () => {
    await expect(
      ts.store.db.transaction().execute(async (trx) => {
        await writePosition(trx, 'probe', 0, 99, 3);
        throw new Error('the fold failed');
      }),
    ).rejects.toThrow('the fold failed');
    expect(await readPosition(ts.store.db, 'probe')).toBe(18);
  });

  it('keeps partitions and consumers apart', async () => {
    await ts.store.db.transaction().execute(async (trx) => {
      await writePosition(trx, 'probe', 3, 5, 4);
      await writePosition(trx, 'other', 0, 7, 4);
    });
    expect(await readPosition(ts.store.db, 'probe', 3)).toBe(5);
    expect(await readPosition(ts.store.db, 'probe', 0)).toBe(18);
    expect(await readPosition(ts.store.db, 'other', 0)).toBe(7);
    expect(await readPosition(ts.store.db, 'other', 3)).toBe(0);
  });
});
