/**
 * Queries built and compiled once, then run many times with new values: kysely's builder and
 * compiler, run for every query, were a fifth of Keel's event loop in a paging storm (`keel bench
 * paging`: immutable nodes frozen, visited and printed for each of the ~30 statements of an alert).
 * A prepared query keeps the SQL text kysely compiled the first time and binds the new values in
 * the same positions, so the hot statements of paging cost what running them costs.
 *
 * The query is still written with kysely's typed builder: `build` receives named stand-ins for its
 * values (`p.id`), kysely compiles them to bound parameters like any value, and each run puts the
 * run's values where the stand-ins were. Values are only ever bound, never put in the SQL text.
 *
 * Write one only for a query of fixed shape: a stand-in is one value, so not an `in (…)` list, and a
 * value the builder inspects (`undefined` dropping an inserted column, an array) is not known when
 * it builds. kysely-params does the same but follows kysely 0.24 and has not been released since
 * 2024; this is the part of it Keel needs.
 *
 * The SQL is compiled once per dialect (a store and its transactions share it), so a query defined
 * once serves the SQLite and the PostgreSQL store alike.
 */
import type { Compilable, CompiledQuery, DialectAdapter, Kysely, SqliteDatabase, SqliteStatement } from 'kysely';
import type { Database, Db } from './schema.js';

/**
 * The one connection of each SQLite store, by its dialect's adapter (shared by the store's Kysely
 * instance and its transactions): inside a transaction, a prepared query runs on it directly.
 *
 * Why: kysely passes every query through its executor, the transaction's connection provider and
 * its queue, and the driver, each a promise: about 3 µs a statement on this machine, three times
 * what SQLite takes to run a small one, and a paging storm runs ~30 statements per alert. Inside
 * a transaction that is pure overhead: the transaction already holds the store's only connection
 * (kysely's SQLite driver lends it to one transaction at a time), and better-sqlite3 runs a
 * statement synchronously, so running it here is what the driver would do, minus the promises.
 * Outside a transaction the query still goes through kysely, which waits for an open transaction
 * to end before it lends the connection (running it here would run it inside that transaction).
 */
const sqliteConnections = new WeakMap<DialectAdapter, SqliteDatabase>();

/** Lets transactions of this SQLite store run prepared queries on `connection` (store.ts, once per store). */
export function runPreparedInTransactionsOn(db: Kysely<Database>, connection: SqliteDatabase): void {
  sqliteConnections.set(db.getExecutor().adapter, connection);
}

/** Stands in for the value named `name` while the query is built. */
class Slot {
  constructor(readonly name: string) {}
}

interface Compiled {
  /** The compiled query, whose parameters are stand-ins; each run copies it with its values. */
  query: CompiledQuery;
  /** Per bound parameter: the slot whose value goes there, or a value fixed in the query. */
  parameters: readonly unknown[];
  /** The store's SQLite connection, which its transactions run the query on (see sqliteConnections). */
  direct: SqliteDatabase | undefined;
}

function bindValues(compiled: Compiled, values: object): unknown[] {
  return compiled.parameters.map((p) => (p instanceof Slot ? valueOf(values, p.name) : p));
}

export class PreparedQueryError extends Error {
  readonly code = 'prepared_query';
}

export class PreparedQuery<P extends object, R> {
  private readonly compiled = new WeakMap<DialectAdapter, Compiled>();

  constructor(private readonly build: (db: Db, p: P) => Compilable<R>) {}

  /** The rows the query returns (a select, or a statement with `returning`). */
  async rows(db: Db, values: P): Promise<R[]> {
    const direct = this.direct(db, values);
    if (direct) {
      // As kysely's SQLite driver runs it: a statement that returns rows is read, others run.
      if (direct.statement.reader) return direct.statement.all(direct.parameters) as R[];
      direct.statement.run(direct.parameters);
      return [];
    }
    const result = await db.getExecutor().executeQuery<R>(this.bind(db, values));
    return result.rows;
  }

  /** The first row the query returns, if any. */
  async first(db: Db, values: P): Promise<R | undefined> {
    return (await this.rows(db, values))[0];
  }

  /** Runs an insert, update or delete; the rows it changed. */
  async run(db: Db, values: P): Promise<number> {
    const direct = this.direct(db, values);
    if (direct) {
      // (kysely reports no changed rows for a statement that returns rows.)
      if (!direct.statement.reader) return Number(direct.statement.run(direct.parameters).changes);
      direct.statement.all(direct.parameters);
      return 0;
    }
    const result = await db.getExecutor().executeQuery(this.bind(db, values));
    return Number(result.numAffectedRows ?? 0n);
  }

  /** In a transaction of an SQLite store: the statement and this run's values, to run directly. */
  private direct(db: Db, values: P): { statement: SqliteStatement; parameters: unknown[] } | undefined {
    const compiled = this.compile(db);
    if (!compiled.direct || !db.isTransaction) return undefined;
    return { statement: compiled.direct.prepare(compiled.query.sql), parameters: bindValues(compiled, values) };
  }

  /** The SQL text and parameters of a run, as they go to the database (tests, and EXPLAIN). */
  bind(db: Db, values: P): CompiledQuery<R> {
    const compiled = this.compile(db);
    // The first compile's node and query id serve every run (no plugin correlates runs by id).
    return { ...compiled.query, parameters: bindValues(compiled, values) } as CompiledQuery<R>;
  }

  private compile(db: Db): Compiled {
    // The adapter is the dialect's, shared by a Kysely instance and its transactions.
    const adapter = db.getExecutor().adapter;
    let compiled = this.compiled.get(adapter);
    if (!compiled) {
      const slots = new Proxy({} as P, { get: (_target, name) => new Slot(String(name)) });
      const query = this.build(db, slots).compile();
      compiled = { query, parameters: query.parameters, direct: sqliteConnections.get(adapter) };
      this.compiled.set(adapter, compiled);
    }
    return compiled;
  }
}

function valueOf(values: object, name: string): unknown {
  const value = (values as Record<string, unknown>)[name];
  // undefined is no SQL value (better-sqlite3 refuses it, pg sends NULL): a missing value is a bug here.
  if (value === undefined) throw new PreparedQueryError(`prepared query: no value for "${name}" (pass null for SQL NULL)`);
  return value;
}

/**
 * A query of fixed shape compiled once; `p` names the values of each run:
 *
 *     const byId = prepared((db, p: { id: string }) => db.selectFrom('alerts').selectAll().where('id', '=', p.id));
 *     const alert = await byId.first(trx, { id });
 */
export function prepared<P extends object, R>(build: (db: Db, p: P) => Compilable<R>): PreparedQuery<P, R> {
  return new PreparedQuery(build);
}

/**
 * A whole row of stand-ins for an insert: `{ column: p.column }` for each column of the table.
 * `columns` must name every column of `T` (checked by the compiler), so a column added to the
 * table later cannot be left out of the prepared insert unnoticed.
 */
export function wholeRow<T extends object>(p: T, columns: Record<keyof T, true>): T {
  const out = {} as T;
  for (const column of Object.keys(columns) as (keyof T)[]) out[column] = p[column];
  return out;
}
