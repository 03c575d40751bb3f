/**
 * kysely's SQLite dialect with one change: a LIMIT that is a plain integer goes into the SQL text
 * (`limit 50`) instead of a bound parameter (`limit ?`).
 *
 * Why: SQLite takes a bound LIMIT into account when it plans (the value can change the plan), so
 * each run of a statement whose LIMIT is bound re-prepares it before stepping. Measured with
 * better-sqlite3 on a 5,000-incident table, the open-incident lookup of every alert took 15–20 µs
 * with `limit ?` and 3.4 µs with `limit 1`; the queries that poll for due work (timers, deliveries,
 * outbox reads) all carry a LIMIT, so a storm paid that on every statement of that kind.
 *
 * The value is a JavaScript integer checked here, so nothing but digits reaches the SQL text. A
 * statement is kept per distinct text (store/statement-cache.ts), so each LIMIT value used gets its
 * own; the values in use are few (constants, and page sizes of lists).
 */
import { LimitNode, SqliteDialect, SqliteQueryCompiler, ValueNode, type QueryCompiler } from 'kysely';

export class InlineLimitSqliteQueryCompiler extends SqliteQueryCompiler {
  protected override visitLimit(node: LimitNode): void {
    const limit = node.limit;
    if (ValueNode.is(limit) && isPlainCount(limit.value)) {
      this.append(`limit ${String(limit.value)}`);
      return;
    }
    super.visitLimit(node);
  }
}

function isPlainCount(value: unknown): value is number | bigint {
  return (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'bigint' && value >= 0n);
}

export class KeelSqliteDialect extends SqliteDialect {
  override createQueryCompiler(): QueryCompiler {
    return new InlineLimitSqliteQueryCompiler();
  }
}
