/** Definitions (the current state) and every version of them (the history). */
export interface DefinitionsTable {
  tenant_id: string;
  kind: string;
  name: string;
  api_version: string;
  /** JSON of the normalised document. */
  spec_json: string;
  version: number;
  updated_at: number;
  updated_by: string;
}

export interface DefinitionVersionsTable {
  tenant_id: string;
  kind: string;
  name: string;
  version: number;
  action: string;
  /** JSON of the document after the change; null for a delete. */
  spec_json: string | null;
  /** JSON list of {path, before, after}. */
  diff_json: string;
  at: number;
  actor: string;
}

export interface DefinitionTables {
  definitions: DefinitionsTable;
  definition_versions: DefinitionVersionsTable;
}
