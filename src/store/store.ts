/**
 * The state store: one kysely `Kysely<Database>` over SQLite (embedded) or PostgreSQL
 * (distributed), migrated on open. Domain code only sees `Store`; nothing else knows the engine.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, sql, type MigrationProvider, type Transaction } from 'kysely';
import { migrations } from './migrations/index.js';
import { advisoryKey, createPostgresPool, ensureSchema, withStartupLock, type PostgresHandle, type PostgresOptions } from './postgres.js';
import type { Database } from './schema.js';
import { OneSchemaPostgresDialect } from './schema-introspector.js';
import { KeelSqliteDialect } from './sqlite-dialect.js';
import { runPreparedInTransactionsOn } from './prepared.js';
import { CachingSqliteDatabase, type StatementCacheStats } from './statement-cache.js';

export type StoreEngine = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly engine: StoreEngine;
  /** Set for PostgreSQL: the pool and connection settings (cluster code opens its own connections). */
  readonly postgres?: PostgresHandle;
  /** Set for SQLite: the prepared-statement cache every query goes through (its counters, for tests). */
  readonly statementCache?: { stats(): StatementCacheStats };
  /** Runs a cheap query; throws when the store cannot be reached or written. */
  ping(): Promise<void>;
  /**
   * Holds the lock `name` until `trx` ends, so the transactions that take it commit in the order
   * they took it. An outbox read by position (`seq > last seen`) needs it: on PostgreSQL a serial
   * key is assigned at insert, not at commit, so without it a later row can commit first, a reader
   * moves past the earlier one's number, and the earlier row is never read (an alert that pages
   * nobody). SQLite has one writer at a time already.
   */
  serializeCommits(trx: Transaction<Database>, name: string): Promise<void>;
  close(): Promise<void>;
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

async function migrate(db: Kysely<Database>, migrationTableSchema?: string): Promise<void> {
  // Domains number their migrations in their own ranges; they are independent, so order across
  // ranges does not matter, only within a domain.
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'keel_migrations',
    migrationLockTableName: 'keel_migrations_lock',
    // PostgreSQL: name the schema, or kysely takes another schema's migration table (two Keel
    // clusters in one database) for this one's.
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
    allowUnorderedMigrations: true,
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

export async function openSqliteStore(path: string): Promise<Store> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  // FULL: state commits (counters with their log position, alert state) survive a crash.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Statements are prepared once per SQL text and reused (see statement-cache.ts).
  const statements = new CachingSqliteDatabase(sqlite);
  const db = new Kysely<Database>({ dialect: new KeelSqliteDialect({ database: statements }) });
  runPreparedInTransactionsOn(db, statements);
  await migrate(db);
  return {
    db,
    engine: 'sqlite',
    statementCache: statements,
    ping: async () => {
      sqlite.prepare('SELECT 1').get();
    },
    serializeCommits: async () => undefined,
    close: () => db.destroy(),
  };
}

/**
 * Opens the PostgreSQL store. Many processes may start at once against a fresh database: schema
 * creation and migrations run under an advisory lock, one process after the other.
 */
export async function openPostgresStore(connectionString: string, options: PostgresOptions = {}): Promise<Store> {
  const handle = createPostgresPool(connectionString, options);
  const db = new Kysely<Database>({ dialect: new OneSchemaPostgresDialect({ pool: handle.pool }, handle.schema ?? 'public') });
  try {
    await withStartupLock(handle, 'migrate', async () => {
      await ensureSchema(handle);
      await migrate(db, handle.schema ?? 'public');
    });
  } catch (e) {
    await db.destroy().catch(() => undefined);
    throw e;
  }
  return {
    db,
    engine: 'postgres',
    postgres: handle,
    ping: async () => {
      await handle.pool.query('SELECT 1');
    },
    serializeCommits: async (trx, name) => {
      await sql`SELECT pg_advisory_xact_lock(${advisoryKey(handle.schema ?? '', name)}::bigint)`.execute(trx);
    },
    close: () => db.destroy(),
  };
}
