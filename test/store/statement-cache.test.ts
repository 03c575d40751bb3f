/**
 * The SQLite store's prepared-statement cache: statements are reused by SQL text, inside and
 * outside transactions (and a rolled-back transaction leaves no trace through them), they follow
 * the schema when it changes under them (a migration, a table dropped and created again), the
 * cache stays within its bound, dropping the least recently used, and a statement still being
 * iterated is not handed out twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CachingSqliteDatabase } from '../../src/store/statement-cache.js';
import { openSqliteStore, type Store } from '../../src/store/store.js';

interface T {
  t: { id: number; v: string };
}

describe('prepared-statement cache on the SQLite store', () => {
  let dir: string;
  let store: Store;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-stmt-cache-'));
    store = await openSqliteStore(join(dir, 'state.db'));
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the store: a query run again is a hit, inside a transaction too, and a rollback undoes what ran through cached statements', async () => {
    const stats = () => store.statementCache!.stats();
    const query = () => store.db.selectFrom('tenants').select('id').where('id', '=', 'cache-test').executeTakeFirst();
    await query();
    const before = stats();
    expect(await query()).toBeUndefined();
    expect(stats().hits).toBe(before.hits + 1);
    expect(stats().misses).toBe(before.misses);

    const insert = (trx: Kysely<never> | typeof store.db, id: string) =>
      (trx as typeof store.db).insertInto('tenants').values({ id, created_at: 1, events_per_second: null, burst: null, paused: 0 }).execute();
    await store.db.transaction().execute(async (trx) => {
      const inside = stats();
      expect(await trx.selectFrom('tenants').select('id').where('id', '=', 'cache-test').executeTakeFirst()).toBeUndefined();
      expect(stats().hits).toBe(inside.hits + 1);
      await insert(trx, 'cache-test');
      expect(await trx.selectFrom('tenants').select('id').where('id', '=', 'cache-test').executeTakeFirst()).toEqual({ id: 'cache-test' });
    });
    expect(await query()).toEqual({ id: 'cache-test' });

    // The same insert statement (a hit) inside a transaction that fails: nothing of it stays.
    await expect(
      store.db.transaction().execute(async (trx) => {
        await insert(trx, 'rolled-back');
        expect(await trx.selectFrom('tenants').select('id').where('id', '=', 'rolled-back').executeTakeFirst()).toEqual({ id: 'rolled-back' });
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    expect(await store.db.selectFrom('tenants').select('id').where('id', '=', 'rolled-back').executeTakeFirst()).toBeUndefined();
    // And the cached statements still work afterwards, in a new transaction.
    await store.db.transaction().execute((trx) => insert(trx, 'after-rollback'));
    expect((await store.db.selectFrom('tenants').select('id').where('id', 'in', ['cache-test', 'rolled-back', 'after-rollback']).orderBy('id').execute()).map((r) => r.id)).toEqual([
      'after-rollback',
      'cache-test',
    ]);
  });

  it('follows the schema: a cached SELECT * sees a column added by a migration-like ALTER, and a dropped table fails as a fresh statement would', async () => {
    const db = store.db as unknown as Kysely<{ cache_probe: { id: number; a: string; b?: string } }>;
    await sql`create table cache_probe (id integer primary key, a text not null)`.execute(db);
    await db.insertInto('cache_probe').values({ id: 1, a: 'x' }).execute();
    const all = () => db.selectFrom('cache_probe').selectAll().where('id', '=', 1).execute();
    expect(await all()).toEqual([{ id: 1, a: 'x' }]);
    const hits = store.statementCache!.stats().hits;
    await sql`alter table cache_probe add column b text not null default 'new'`.execute(db);
    expect(await all()).toEqual([{ id: 1, a: 'x', b: 'new' }]);
    expect(store.statementCache!.stats().hits).toBe(hits + 1);

    await sql`drop table cache_probe`.execute(db);
    await expect(all()).rejects.toThrow(/no such table: cache_probe/);
    // Created again with other columns: the same SQL text answers with the new shape.
    await sql`create table cache_probe (id integer primary key, c integer not null)`.execute(db);
    await sql`insert into cache_probe (id, c) values (1, 42)`.execute(db);
    expect(await all()).toEqual([{ id: 1, c: 42 }]);
  });
});

describe('CachingSqliteDatabase', () => {
  const open: SQLite.Database[] = [];
  afterEach(() => {
    for (const d of open.splice(0)) if (d.open) d.close();
  });

  function fresh(capacity: number): { cache: CachingSqliteDatabase; db: Kysely<T> } {
    const raw = new SQLite(':memory:');
    open.push(raw);
    raw.exec('create table t (id integer primary key, v text not null)');
    const cache = new CachingSqliteDatabase(raw, capacity);
    return { cache, db: new Kysely<T>({ dialect: new SqliteDialect({ database: cache }) }) };
  }

  it('keeps at most its capacity, dropping the least recently used statement', async () => {
    const { cache, db } = fresh(3);
    const byId = (id: number) => db.selectFrom('t').select('v').where('id', '=', id);
    // Four distinct texts: `in` lists of 1, 2, 3 and 4 values.
    const texts = [[1], [1, 2], [1, 2, 3], [1, 2, 3, 4]];
    for (const ids of texts.slice(0, 3)) await db.selectFrom('t').select('v').where('id', 'in', ids).execute();
    expect(cache.stats()).toEqual({ size: 3, hits: 0, misses: 3 });
    // Use the first again: it becomes the most recent, so the second is dropped for the fourth.
    await db.selectFrom('t').select('v').where('id', 'in', texts[0]!).execute();
    await db.selectFrom('t').select('v').where('id', 'in', texts[3]!).execute();
    expect(cache.stats()).toEqual({ size: 3, hits: 1, misses: 4 });
    await db.selectFrom('t').select('v').where('id', 'in', texts[0]!).execute();
    expect(cache.stats().hits).toBe(2);
    await db.selectFrom('t').select('v').where('id', 'in', texts[1]!).execute();
    expect(cache.stats()).toEqual({ size: 3, hits: 2, misses: 5 });
    await byId(1).execute();
    expect(cache.stats().size).toBe(3);
  });

  it('does not hand out a statement that is still being iterated (a stream), and hands it out again once it is done', () => {
    const { cache } = fresh(10);
    const text = 'select id from t';
    const first = cache.prepare(text) as SQLite.Statement;
    const rows = first.iterate([]);
    const during = cache.prepare(text);
    expect(during).not.toBe(first);
    expect(cache.stats()).toMatchObject({ size: 1, misses: 1 });
    rows.return?.();
    expect(cache.prepare(text)).toBe(first);
  });

  it('refuses a capacity that is not a positive integer', () => {
    const raw = new SQLite(':memory:');
    open.push(raw);
    expect(() => new CachingSqliteDatabase(raw, 0)).toThrow('statement cache capacity must be a positive integer, got 0');
  });
});
