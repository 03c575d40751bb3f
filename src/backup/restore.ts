/**
 * `keel restore`: unpacks a backup into a fresh data dir (never over existing data), checking
 * every file's sha256, and lines the log's retention holds up with the restored consumer
 * positions. The sealing key is not in the backup: give the key file with `--secret-key-file`, or
 * start Keel with KEEL_SECRET_KEY, so the stored secrets can be opened.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KeelError } from '../core/errors.js';
import { decodeKey } from '../core/secret-keyring.js';
import { keyIdOf } from '../core/secrets.js';
import { segmentDir } from '../log/sqlite/segments.js';
import { extractFile, readManifest, type BackupManifest } from './container.js';

export interface RestoreResult {
  manifest: BackupManifest;
  dataDir: string;
  secretKey: 'restored' | 'not included';
  /** What the operator must still do, if anything. */
  warnings: string[];
}

export async function restoreBackup(
  file: string,
  dataDir: string,
  options: { secretKeyFile?: string; onProgress?: (done: number, total: number) => void } = {},
): Promise<RestoreResult> {
  if (!existsSync(file)) throw new KeelError('validation_failed', `backup file ${file} does not exist`);
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new KeelError('conflict', `${dataDir} is not empty; restore only into a new or empty directory, so nothing is overwritten`);
  }
  const { manifest, dataOffset } = await readManifest(file);
  const warnings: string[] = [];
  let keyText: string | undefined;
  if (options.secretKeyFile) {
    keyText = readFileSync(options.secretKeyFile, 'utf8');
    const ids = new Set(
      keyText
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((l, i) => keyIdOf(decodeKey(l, `${options.secretKeyFile} line ${i + 1}`))),
    );
    const missing = manifest.secret_key.key_ids_in_use.filter((id) => !ids.has(id));
    if (missing.length) {
      throw new KeelError('validation_failed', `${options.secretKeyFile} lacks the key(s) ${missing.join(', ')} that sealed secrets in this backup; use the key file of the Keel that was backed up`);
    }
  } else if (manifest.secret_key.sealed_values > 0) {
    warnings.push(
      `the backup holds ${manifest.secret_key.sealed_values} sealed secret(s) under key(s) ${manifest.secret_key.key_ids_in_use.join(', ')}; start Keel with KEEL_SECRET_KEY set to that key, or copy its key file to ${join(dataDir, 'secret.key')}, before anything needs them`,
    );
  }
  mkdirSync(dataDir, { recursive: true });
  const total = manifest.files.reduce((s, f) => s + f.bytes, 0);
  let done = 0;
  let offset = dataOffset;
  for (const f of manifest.files) {
    const tmp = join(dataDir, `.${f.name}.restoring`);
    await extractFile(file, offset, f, tmp, (n) => {
      done += n;
      options.onProgress?.(done, total);
    });
    // Segment files of the log go back beside log.db, where the log looks for them.
    const segment = /^segment-(\d{12}\.seg)$/.exec(f.name);
    if (segment) {
      const dir = segmentDir(join(dataDir, 'log.db'));
      mkdirSync(dir, { recursive: true });
      renameSync(tmp, join(dir, segment[1]!));
    } else renameSync(tmp, join(dataDir, f.name));
    offset += f.bytes;
  }
  alignLogRetention(dataDir);
  if (keyText !== undefined) {
    writeFileSync(join(dataDir, 'secret.key'), keyText.endsWith('\n') ? keyText : `${keyText}\n`, { mode: 0o600, flag: 'wx' });
  }
  return { manifest, dataDir, secretKey: keyText !== undefined ? 'restored' : 'not included', warnings };
}

/**
 * The log was copied after the state, so its consumers may claim more than the state has folded
 * in; set them back to the state's positions so retention keeps what will be re-read.
 */
function alignLogRetention(dataDir: string): void {
  const statePath = join(dataDir, 'state.db');
  const logPath = join(dataDir, 'log.db');
  if (!existsSync(statePath) || !existsSync(logPath)) return;
  const state = new Database(statePath, { readonly: true, fileMustExist: true });
  const log = new Database(logPath, { fileMustExist: true });
  try {
    const hasPositions = state.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'positions'").get();
    if (!hasPositions) return;
    const positions = state.prepare('SELECT consumer, position FROM positions WHERE partition = 0').all() as { consumer: string; position: number }[];
    const update = log.prepare('UPDATE consumers SET position = ? WHERE name = ? AND position > ?');
    log.transaction(() => {
      for (const p of positions) update.run(p.position, p.consumer, p.position);
    })();
  } finally {
    state.close();
    log.close();
  }
}

