/**
 * The backup file: one file holding the SQLite databases of a data dir, each with its size and
 * sha256, after a one-line manifest:
 *
 *   KEEL-BACKUP 1\n
 *   {"format":"keel-backup","version":1,"files":[{"name":"state.db","bytes":…,"sha256":…},…],…}\n
 *   <bytes of the first file><bytes of the second file>…
 *
 * Hand-written rather than tar: no archive library is among Keel's dependencies, and this format
 * is a dozen lines to write and to check, with a checksum per file that tar does not have.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { KeelError } from '../core/errors.js';

export const MAGIC = 'KEEL-BACKUP 1\n';
const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: 'keel-backup';
  version: 1;
  created_at: string;
  keel_version: string;
  files: ManifestFile[];
  /** The sealing key is never inside; these say which keys the stored secrets need. */
  secret_key: { included: false; key_ids_in_use: string[]; sealed_values: number };
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), async function* (src: AsyncIterable<Buffer>) {
    for await (const c of src) h.update(c);
  });
  return h.digest('hex');
}

/** Writes the container; returns its size and sha256. */
export async function writeContainer(
  out: string,
  manifest: Omit<BackupManifest, 'files'>,
  files: { name: string; path: string }[],
): Promise<{ bytes: number; sha256: string; manifest: BackupManifest }> {
  const entries: ManifestFile[] = [];
  for (const f of files) entries.push({ name: f.name, bytes: statSync(f.path).size, sha256: await sha256File(f.path) });
  const full: BackupManifest = { ...manifest, files: entries };
  const h = createHash('sha256');
  let bytes = 0;
  const ws = createWriteStream(out, { flags: 'wx', mode: 0o600 });
  const write = (b: Buffer) =>
    new Promise<void>((resolve, reject) => {
      h.update(b);
      bytes += b.length;
      ws.write(b, (err) => (err ? reject(err) : resolve()));
    });
  try {
    await write(Buffer.from(MAGIC));
    await write(Buffer.from(`${JSON.stringify(full)}\n`));
    for (const f of files) {
      for await (const chunk of createReadStream(f.path)) await write(chunk as Buffer);
    }
  } finally {
    await new Promise<void>((resolve) => ws.end(resolve));
  }
  return { bytes, sha256: h.digest('hex'), manifest: full };
}

/** Reads the manifest and where the file data starts. */
export async function readManifest(path: string): Promise<{ manifest: BackupManifest; dataOffset: number }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(MAX_MANIFEST_BYTES, Math.max(0, (await fh.stat()).size)));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    if (!head.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) {
      throw new KeelError('validation_failed', `${path} is not a Keel backup (it does not start with "KEEL-BACKUP 1")`);
    }
    const nl = head.indexOf(10, MAGIC.length);
    if (nl < 0) throw new KeelError('validation_failed', `${path}: the backup's manifest is cut off`);
    let manifest: BackupManifest;
    try {
      manifest = JSON.parse(head.subarray(MAGIC.length, nl).toString('utf8')) as BackupManifest;
    } catch (e) {
      throw new KeelError('validation_failed', `${path}: the backup's manifest is not valid JSON: ${(e as Error).message}`);
    }
    if (manifest.format !== 'keel-backup' || manifest.version !== 1 || !Array.isArray(manifest.files)) {
      throw new KeelError('validation_failed', `${path}: unsupported backup format or version`);
    }
    for (const f of manifest.files) {
      if (!/^[a-z0-9_.-]+$/.test(f.name) || !Number.isSafeInteger(f.bytes) || f.bytes < 0 || !/^[0-9a-f]{64}$/.test(f.sha256)) {
        throw new KeelError('validation_failed', `${path}: the manifest lists an invalid file entry`);
      }
    }
    const total = manifest.files.reduce((s, f) => s + f.bytes, 0);
    const size = (await fh.stat()).size;
    if (size !== nl + 1 + total) {
      throw new KeelError('validation_failed', `${path} is ${size} bytes but its manifest says ${nl + 1 + total}: the file is truncated or has extra data`);
    }
    return { manifest, dataOffset: nl + 1 };
  } finally {
    await fh.close();
  }
}

/** Copies one file out of the container, checking its size and sha256. */
export async function extractFile(container: string, start: number, f: ManifestFile, dest: string, onBytes?: (n: number) => void): Promise<void> {
  const h = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  if (f.bytes === 0) await pipeline(Readable.from([]), tap, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
  else await pipeline(createReadStream(container, { start, end: start + f.bytes - 1 }), tap, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
  const got = h.digest('hex');
  if (got !== f.sha256) throw new KeelError('validation_failed', `${f.name} in the backup is damaged: sha256 ${got}, the manifest says ${f.sha256}`);
}
