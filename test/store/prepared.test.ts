/**
 * Prepared queries (store/prepared.ts) on both stores: compiled once, run with each run's values
 * in the right places (a value named twice, values fixed in the query, NULL), the rows or the
 * changed-row count a builder's query would give, and one definition serving two stores of
 * different engines in the same process. Expected rows are written by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantsTable } from '../../src/auth/tables.js';
import { prepared, PreparedQueryError, wholeRow } from '../../src/store/prepared.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const insertTenant = prepared((db, p: TenantsTable) => db.insertInto('tenants').values(wholeRow(p, { id: true, created_at: true, events_per_second: true, burst: true, paused: true })));
/** `p.since` is bound twice; "not paused" and the limit are fixed in the query. */
const activeSince = prepared((db, p: { prefix: string; since: number }) =>
  db
    .selectFrom('tenants')
    .select(['id', 'burst'])
    .where('id', 'like', p.prefix)
    .where('paused', '=', 0)
    .where('created_at', '>=', p.since)
    .where('events_per_second', '>=', p.since)
    .orderBy('id')
    .limit(2),
);
const pause = prepared((db, p: { id: string }) => db.updateTable('tenants').set({ paused: 1 }).where('id', '=', p.id).where('paused', '=', 0));
const insertReturning = prepared((db, p: TenantsTable) =>
  db
    .insertInto('tenants')
    .values(wholeRow(p, { id: true, created_at: true, events_per_second: true, burst: true, paused: true }))
    .returning(['id', 'paused']),
);

function tenant(id: string, createdAt: number, paused = 0): TenantsTable {
  return { id, created_at: createdAt, events_per_second: createdAt + 50, burst: null, paused };
}

const stores: Partial<Record<'sqlite' | 'postgres', TestStore>> = {};
beforeAll(async () => {
  stores.sqlite = await openTestStore('sqlite');
  stores.postgres = await openTestStore('postgres');
});
afterAll(async () => {
  await stores.sqlite?.close();
  await stores.postgres?.close();
});

describe.each(['sqlite', 'postgres'] as const)('prepared queries on %s', (engine) => {
  it('inserts, selects with a value bound twice, and updates with the changed-row count', async () => {
    const db = stores[engine]!.store.db;
    for (const t of [tenant('p-a1', 100), tenant('p-a2', 200), tenant('p-a3', 300), tenant('q-b1', 300), tenant('p-a5', 400, 1)]) await insertTenant.run(db, t);
    const stored = await db.selectFrom('tenants').selectAll().where('id', '=', 'p-a2').executeTakeFirstOrThrow();
    expect({ ...stored, created_at: Number(stored.created_at), events_per_second: Number(stored.events_per_second) }).toEqual({
      id: 'p-a2',
      created_at: 200,
      events_per_second: 250,
      burst: null,
      paused: 0,
    });

    // since 150 under p-: p-a2 (200, 250 events/s) and p-a3; p-a1 is older, p-a5 paused, q-b1 another prefix.
    expect(await activeSince.rows(db, { prefix: 'p-%', since: 150 })).toEqual([
      { id: 'p-a2', burst: null },
      { id: 'p-a3', burst: null },
    ]);
    // since 0: p-a1, p-a2, p-a3 qualify; the fixed limit keeps two.
    expect((await activeSince.rows(db, { prefix: 'p-%', since: 0 })).map((r) => r.id)).toEqual(['p-a1', 'p-a2']);
    // since 120: p-a1's rate (150) passes but its creation (100) does not: both places got the value.
    expect((await activeSince.rows(db, { prefix: 'p-a1', since: 120 })).map((r) => r.id)).toEqual([]);
    expect(await activeSince.first(db, { prefix: 'q-%', since: 0 })).toEqual({ id: 'q-b1', burst: null });
    expect(await activeSince.first(db, { prefix: 'none%', since: 0 })).toBeUndefined();

    expect(await pause.run(db, { id: 'p-a1' })).toBe(1);
    expect(await pause.run(db, { id: 'p-a1' })).toBe(0);
    expect((await db.selectFrom('tenants').select('paused').where('id', '=', 'p-a1').executeTakeFirstOrThrow()).paused).toBe(1);
  });

  it('runs inside a transaction, which a rollback undoes', async () => {
    const db = stores[engine]!.store.db;
    await expect(
      db.transaction().execute(async (trx) => {
        await insertTenant.run(trx, tenant('t-x1', 1));
        expect(await activeSince.first(trx, { prefix: 't-%', since: 0 })).toEqual({ id: 't-x1', burst: null });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await activeSince.first(db, { prefix: 't-%', since: 0 })).toBeUndefined();
  });

  it('gives inside a transaction what it gives outside: rows, returned rows, changed-row counts', async () => {
    // (On SQLite a transaction runs prepared queries on its connection directly, not through kysely.)
    const db = stores[engine]!.store.db;
    await db.transaction().execute(async (trx) => {
      expect(await insertReturning.rows(trx, tenant('r-1', 10))).toEqual([{ id: 'r-1', paused: 0 }]);
      expect(await insertTenant.run(trx, tenant('r-2', 20))).toBe(1);
      expect(await insertTenant.rows(trx, tenant('r-3', 30))).toEqual([]);
      expect(await pause.run(trx, { id: 'r-2' })).toBe(1);
      expect(await pause.run(trx, { id: 'r-2' })).toBe(0);
      expect(await activeSince.rows(trx, { prefix: 'r-%', since: 0 })).toEqual([
        { id: 'r-1', burst: null },
        { id: 'r-3', burst: null },
      ]);
      await expect(insertTenant.run(trx, { ...tenant('r-4', 1), paused: undefined } as unknown as TenantsTable)).rejects.toThrow('prepared query: no value for "paused"');
    });
    expect((await db.selectFrom('tenants').select('id').where('id', 'like', 'r-%').orderBy('id').execute()).map((r) => r.id)).toEqual(['r-1', 'r-2', 'r-3']);
  });

  it('outside a transaction, never reads what an open transaction has not committed', async () => {
    const db = stores[engine]!.store.db;
    let outside: Promise<{ id: string } | undefined> | undefined;
    await expect(
      db.transaction().execute(async (trx) => {
        await insertTenant.run(trx, tenant('u-1', 1));
        // Issued while the transaction holds its uncommitted row; SQLite's one connection is lent
        // to the transaction, so this read waits for it to end (it must not run inside it).
        outside = activeSince.first(db, { prefix: 'u-%', since: 0 });
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await outside).toBeUndefined();
  });

  it('refuses a run with a value missing, naming it, and writes nothing', async () => {
    const db = stores[engine]!.store.db;
    const row = { ...tenant('m-1', 1), paused: undefined } as unknown as TenantsTable;
    const err = await insertTenant.run(db, row).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreparedQueryError);
    expect((err as Error).message).toBe('prepared query: no value for "paused" (pass null for SQL NULL)');
    expect(await db.selectFrom('tenants').select('id').where('id', '=', 'm-1').execute()).toEqual([]);
  });
});

describe('one prepared query, two engines', () => {
  it('compiles once per dialect: placeholders as each engine writes them, the same text on every run', () => {
    const onSqlite = activeSince.bind(stores.sqlite!.store.db, { prefix: 'p-%', since: 7 });
    const onPostgres = activeSince.bind(stores.postgres!.store.db, { prefix: 'p-%', since: 7 });
    expect(onSqlite.sql).toBe('select "id", "burst" from "tenants" where "id" like ? and "paused" = ? and "created_at" >= ? and "events_per_second" >= ? order by "id" limit 2');
    expect(onSqlite.parameters).toEqual(['p-%', 0, 7, 7]);
    expect(onPostgres.sql).toBe('select "id", "burst" from "tenants" where "id" like $1 and "paused" = $2 and "created_at" >= $3 and "events_per_second" >= $4 order by "id" limit $5');
    expect(onPostgres.parameters).toEqual(['p-%', 0, 7, 7, 2]);
    // The same text on every run, whatever the values: one statement in the SQLite statement cache.
    expect(activeSince.bind(stores.sqlite!.store.db, { prefix: 'x', since: 1 }).sql).toBe(onSqlite.sql);
  });
});
