/**
 * `keel restore`: unpacks a backup into a fresh data dir (never over existing data), checking
 * every file's sha256 (all or nothing: a damaged backup leaves no data dir behind), and lines the log's retention holds up with the restored consumer
 * positions. The sealing key is not in the backup: give the key file with `--secret-key-file`, or
 * start Keel with KEEL_SECRET_KEY, so the stored secrets can be opened.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { KeelError } from '../core/errors.js';
import { decodeKey } from '../core/secret-keyring.js';
import { keyIdOf } from '../core/secrets.js';
import { fsyncDir, segmentDir } from '../log/sqlite/segments.js';
import { extractFile, readManifest, type BackupManifest } from './container.js';

export interface RestoreResult {
  manifest: BackupManifest;
  dataDir: string;
  secretKey: 'restored' | 'not included';
  /** What the operator must still do, if anything. */
  warnings: string[];
}

export async function restoreBackup(file: string, dataDir: string, options: { secretKeyFile?: string; onProgress?: (done: number, total: number) => void } = {}): Promise<RestoreResult> {
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
      `the backup holds ${manifest.secret_key.sealed_values} sealed secret(s) under key(s) ${manifest.secret_key.key_ids_in_use.join(', ')}; Keel starts only with that key: copy its key file to ${join(dataDir, 'secret.key')}, or set KEEL_SECRET_KEY to it (or start with --allow-unreadable-secrets to go on without them)`,
    );
  }
  // All or nothing: everything is unpacked and checked in a staging dir beside the target, which
  // is renamed into place only once every file is whole; any failure removes it and leaves nothing.
  const target = resolve(dataDir);
  const createdParent = mkdirSync(dirname(target), { recursive: true });
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.restoring-`));
  try {
    await unpack(file, manifest, dataOffset, staging, options.onProgress);
    alignLogRetention(staging);
    if (keyText !== undefined) {
      writeFileSync(join(staging, 'secret.key'), keyText.endsWith('\n') ? keyText : `${keyText}\n`, { mode: 0o600, flag: 'wx' });
    }
    fsyncDir(staging);
    // rename(2) replaces an empty directory; the target was checked to be new or empty.
    renameSync(staging, target);
    fsyncDir(dirname(target));
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    if (createdParent) rmSync(createdParent, { recursive: true, force: true });
    throw e;
  }
  return { manifest, dataDir, secretKey: keyText !== undefined ? 'restored' : 'not included', warnings };
}

async function unpack(file: string, manifest: BackupManifest, dataOffset: number, dir: string, onProgress?: (done: number, total: number) => void): Promise<void> {
  const total = manifest.files.reduce((s, f) => s + f.bytes, 0);
  let done = 0;
  let offset = dataOffset;
  for (const f of manifest.files) {
    // Segment files of the log go back beside log.db, where the log looks for them.
    const segment = /^segment-(\d{12}\.c?seg)$/.exec(f.name);
    let dest = join(dir, f.name);
    if (segment) {
      const segments = segmentDir(join(dir, 'log.db'));
      mkdirSync(segments, { recursive: true, mode: 0o700 });
      dest = join(segments, segment[1]!);
    }
    await extractFile(file, offset, f, dest, (n) => {
      done += n;
      onProgress?.(done, total);
    });
    offset += f.bytes;
  }
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
