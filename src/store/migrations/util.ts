/** Helpers that keep one migration set portable between SQLite and PostgreSQL. */
import { PostgresAdapter, type CreateTableBuilder, type Kysely } from 'kysely';

export function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** An auto-incrementing bigint primary key: AUTOINCREMENT in SQLite (never reused), bigserial in PostgreSQL. */
export function withSerialKey<T extends string>(db: Kysely<unknown>, table: CreateTableBuilder<T, never>, column: string): CreateTableBuilder<T, string> {
  return isPostgres(db) ? table.addColumn(column, 'bigserial', (c) => c.primaryKey()) : table.addColumn(column, 'integer', (c) => c.primaryKey().autoIncrement());
}
