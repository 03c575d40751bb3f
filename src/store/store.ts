/**
 * The state store: one kysely `Kysely<Database>` over SQLite (embedded) or PostgreSQL
 * (distributed), migrated on open. Domain code only sees `Store`; nothing else knows the engine.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type StoreEngine = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly engine: StoreEngine;
  /** Runs a cheap query; throws when the store cannot be reached or written. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

async function migrate(db: Kysely<Database>): Promise<void> {
  // Domains number their migrations in their own ranges; they are independent, so order across
  // ranges does not matter, only within a domain.
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'keel_migrations',
    migrationLockTableName: 'keel_migrations_lock',
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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return {
    db,
    engine: 'sqlite',
    ping: async () => {
      sqlite.prepare('SELECT 1').get();
    },
    close: () => db.destroy(),
  };
}

// bigint columns hold epoch milliseconds and counters, all far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openPostgresStore(connectionString: string, options: { schema?: string } = {}): Promise<Store> {
  const pool = new pg.Pool({ connectionString, max: 10 });
  if (options.schema) {
    const schema = options.schema;
    pool.on('connect', (client) => {
      client.query(`SET search_path TO "${schema.replaceAll('"', '""')}"`).catch(() => undefined);
    });
    const c = await pool.connect();
    try {
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replaceAll('"', '""')}"`);
      await c.query(`SET search_path TO "${schema.replaceAll('"', '""')}"`);
    } finally {
      c.release();
    }
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db);
  return {
    db,
    engine: 'postgres',
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: () => db.destroy(),
  };
}
