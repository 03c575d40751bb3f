/**
 * Online backups of the embedded default while Keel runs: SQLite's backup API copies state.db
 * and then log.db, each in one step (a consistent snapshot: WAL lets writers go on meanwhile),
 * into one container file. State is copied before the log, so consumer positions in the backup
 * never point past the log it holds: after a restore, processors re-read what follows their
 * position, and nothing is counted twice or skipped. The log's batch data lives in segment files
 * beside log.db: every segment is opened before log.db is copied (retention may delete a segment
 * file, but an open one stays readable), then each segment the copied index points into is copied
 * up to its last indexed byte. The sealing key is not in the backup.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Store } from '../store/store.js';
import { listSegments, segmentDir, segmentFileName, type SegmentKind } from '../log/sqlite/segments.js';
import { writeContainer, type BackupManifest } from './container.js';

/** How a segment file is named inside a backup (the container holds flat names). */
export function backupSegmentName(id: number, kind: SegmentKind = 'seg'): string {
  return `segment-${segmentFileName(id, kind)}`;
}

/** Copies the first `length` bytes of an open file to `dest`. */
function copyPrefix(fd: number, length: number, dest: string): void {
  const out = openSync(dest, 'wx', 0o600);
  try {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), done);
      if (n === 0) throw new Error(`segment file ends at byte ${done}, before ${length}`);
      writeSync(out, buf, 0, n);
      done += n;
    }
  } finally {
    closeSync(out);
  }
}

/** Files of the embedded data dir, in the order they are copied. */
export const BACKUP_FILES = ['state.db', 'log.db'] as const;

export interface SealedSummary {
  keyIdsInUse: string[];
  values: number;
}

export interface BackupRecord {
  id: string;
  at: number;
  bytes: number;
  sha256: string;
  actor: string;
  files: { name: string; bytes: number; sha256: string }[];
  durationMs: number;
}

export interface CreatedBackup {
  record: BackupRecord;
  manifest: BackupManifest;
  /** The container file; delete it with `cleanup` once sent. */
  path: string;
  cleanup(): void;
}

/** Copies a live SQLite database into `dest` in one step of the backup API. */
async function snapshot(source: string, dest: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    // All remaining pages in one step: a step holds one read transaction, so the copy is one
    // consistent snapshot; smaller steps would restart whenever a writer commits in between.
    await db.backup(dest, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
}

/**
 * Segments the (copied) log index points into, with the end of their last indexed batch: in the
 * file as appended, or in the compacted one once the index points there.
 */
function indexedSegments(logCopy: string): { id: number; kind: SegmentKind; end: number }[] {
  const db = new Database(logCopy, { readonly: true, fileMustExist: true });
  try {
    const cols = db.prepare('PRAGMA table_info(batches)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'seg_id')) return [];
    const compacted = cols.some((c) => c.name === 'stored');
    return db
      .prepare(
        compacted
          ? `SELECT seg_id AS id, CASE WHEN stored IS NULL THEN 'seg' ELSE 'cseg' END AS kind, MAX(seg_offset + COALESCE(stored, bytes)) AS end
             FROM batches WHERE seg_id IS NOT NULL GROUP BY seg_id, stored IS NULL ORDER BY seg_id`
          : `SELECT seg_id AS id, 'seg' AS kind, MAX(seg_offset + bytes) AS end FROM batches WHERE seg_id IS NOT NULL GROUP BY seg_id ORDER BY seg_id`,
      )
      .all() as { id: number; kind: SegmentKind; end: number }[];
  } finally {
    db.close();
  }
}

export class BackupService {
  private running = false;

  constructor(
    private readonly deps: {
      dataDir: string;
      store: Store;
      clock: Clock;
      version: string;
      sealedSummary: () => Promise<SealedSummary>;
    },
  ) {}

  async create(actor: string): Promise<CreatedBackup> {
    if (this.deps.store.engine !== 'sqlite') {
      throw new KeelError('conflict', 'keel backup covers the embedded default (SQLite); in the distributed mode back up PostgreSQL (pg_dump) and JetStream (stream snapshots)');
    }
    if (this.running) throw new KeelError('conflict', 'a backup is already running; try again when it is done', { retryAfterSeconds: 30 });
    this.running = true;
    const started = this.deps.clock.now();
    const t0 = performance.now();
    const dir = mkdtempSync(join(this.deps.dataDir, '.backup-'));
    const cleanup = () => rmSync(dir, { recursive: true, force: true });
    try {
      const copies: { name: string; path: string }[] = [];
      const segDir = segmentDir(join(this.deps.dataDir, 'log.db'));
      // Keyed by file name: a segment may be open both as appended and compacted.
      const openSegments = new Map<string, number>();
      try {
        for (const name of BACKUP_FILES) {
          if (name === 'log.db') {
            for (const kind of ['seg', 'cseg'] as const) {
              for (const id of listSegments(segDir, kind)) openSegments.set(segmentFileName(id, kind), openSync(join(segDir, segmentFileName(id, kind)), 'r'));
            }
          }
          const dest = join(dir, name);
          await snapshot(join(this.deps.dataDir, name), dest);
          copies.push({ name, path: dest });
        }
        for (const seg of indexedSegments(join(dir, 'log.db'))) {
          const file = segmentFileName(seg.id, seg.kind);
          const fd = openSegments.get(file) ?? openSync(join(segDir, file), 'r');
          openSegments.set(file, fd);
          const dest = join(dir, backupSegmentName(seg.id, seg.kind));
          copyPrefix(fd, seg.end, dest);
          copies.push({ name: backupSegmentName(seg.id, seg.kind), path: dest });
        }
      } finally {
        for (const fd of openSegments.values()) closeSync(fd);
      }
      const sealed = await this.deps.sealedSummary();
      const container = join(dir, 'keel.backup');
      const written = await writeContainer(
        container,
        {
          format: 'keel-backup',
          version: 1,
          created_at: new Date(started).toISOString(),
          keel_version: this.deps.version,
          secret_key: { included: false, key_ids_in_use: sealed.keyIdsInUse, sealed_values: sealed.values },
        },
        copies,
      );
      for (const c of copies) rmSync(c.path, { force: true });
      const record: BackupRecord = {
        id: newId('bak'),
        at: started,
        bytes: written.bytes,
        sha256: written.sha256,
        actor,
        files: written.manifest.files,
        durationMs: Math.round(performance.now() - t0),
      };
      await this.deps.store.db
        .insertInto('backups')
        .values({ id: record.id, at: record.at, bytes: record.bytes, sha256: record.sha256, actor, files_json: JSON.stringify(record.files), duration_ms: record.durationMs })
        .execute();
      if (statSync(container).size !== written.bytes) throw new Error('backup container size changed while writing');
      return { record, manifest: written.manifest, path: container, cleanup };
    } catch (e) {
      cleanup();
      throw e;
    } finally {
      this.running = false;
    }
  }

  async list(limit = 100): Promise<BackupRecord[]> {
    const rows = await this.deps.store.db.selectFrom('backups').selectAll().orderBy('at', 'desc').limit(limit).execute();
    return rows.map((r) => ({
      id: r.id,
      at: Number(r.at),
      bytes: Number(r.bytes),
      sha256: r.sha256,
      actor: r.actor,
      files: JSON.parse(r.files_json) as BackupRecord['files'],
      durationMs: Number(r.duration_ms),
    }));
  }

  async latest(): Promise<BackupRecord | undefined> {
    return (await this.list(1))[0];
  }
}
