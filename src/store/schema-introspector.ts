/**
 * The PostgreSQL dialect, with an introspector that looks at one schema only. kysely's own lists
 * every table of every schema the role may use, calling `has_schema_privilege` on each schema's
 * name; a schema dropped meanwhile (another Keel in the database, another test file's cleanup)
 * fails that call with `schema "<theirs>" does not exist`, and with it the migration of ours.
 * Its only reader here is the migrator, which asks whether its two tables exist in our schema.
 */
import { PostgresDialect, sql, type DatabaseIntrospector, type Kysely, type TableMetadata } from 'kysely';

export class OneSchemaPostgresDialect extends PostgresDialect {
  constructor(
    config: ConstructorParameters<typeof PostgresDialect>[0],
    private readonly schema: string,
  ) {
    super(config);
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return oneSchemaIntrospector(db, this.schema);
  }
}

function oneSchemaIntrospector(db: Kysely<unknown>, schema: string): DatabaseIntrospector {
  const getTables = async (): Promise<TableMetadata[]> => {
    // pg_catalog directly, filtered by name before anything is evaluated per row. Columns are not
    // read: nothing here asks for them.
    const { rows } = await sql<{ name: string; kind: string }>`
      SELECT c.relname AS name, c.relkind AS kind
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
      WHERE ns.nspname = ${schema} AND c.relkind IN ('r', 'v', 'p')
      ORDER BY c.relname`.execute(db);
    return rows.map((r) => ({ name: r.name, schema, isView: r.kind === 'v', columns: [] }));
  };
  return {
    getSchemas: async () => [{ name: schema }],
    getTables,
    getMetadata: async () => ({ tables: await getTables() }),
  };
}
