/** Backups taken of the embedded data dir, for the compliance report's backup age. */
export interface BackupsTable {
  id: string;
  at: number;
  bytes: number;
  sha256: string;
  actor: string;
  /** JSON: [{name, bytes, sha256}] of the databases inside. */
  files_json: string;
  duration_ms: number;
}

export interface BackupTables {
  backups: BackupsTable;
}
