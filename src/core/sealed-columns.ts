/**
 * Where sealed secrets are stored. Each domain that stores a secret with `ctx.secrets.seal`
 * registers the column here, so key rotation can re-encrypt every sealed value and the compliance
 * report can say what is encrypted under which key, without knowing the domains.
 */
export interface SealedColumn {
  table: string;
  /** Columns that identify a row (its primary key). */
  key: string[];
  /** The column holding `v1:<keyId>:…` values (null allowed). */
  column: string;
  /** What the values are, for the report: "SSO client secrets", "webhook secrets"... */
  description: string;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

export class SealedColumns {
  private readonly columns = new Map<string, SealedColumn>();

  register(c: SealedColumn): void {
    for (const name of [c.table, c.column, ...c.key]) {
      if (!IDENT.test(name)) throw new Error(`sealed column: "${name}" is not a plain SQL identifier`);
    }
    if (c.key.length === 0) throw new Error(`sealed column ${c.table}.${c.column}: needs the row's key columns`);
    this.columns.set(`${c.table}.${c.column}`, c);
  }

  list(): SealedColumn[] {
    return [...this.columns.values()];
  }
}
