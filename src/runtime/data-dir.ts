/**
 * The embedded data dir holds every tenant's events, keys (hashed), people and sealed secrets:
 * only Keel's own user may read it. The dir is 0700 and the state files 0600 (SQLite gives a
 * database's -wal and -shm files the mode of the database file, so they follow), also on data
 * dirs made by older versions. A dir an unfinished restore wrote into holds partial data; it is
 * refused rather than started as if it were whole.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError } from '../core/errors.js';
import { segmentDir } from '../log/sqlite/segments.js';

export const STATE_FILES = ['state.db', 'log.db'] as const;
const SIDE_FILES = ['-wal', '-shm', '-journal'];

export function preparePrivateDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dir, 0o700);
  } catch (e) {
    throw new KeelError('conflict', `cannot make the data dir ${dir} private (chmod 0700): ${(e as Error).message}. Run Keel as the owner of the data dir.`);
  }
  const leftovers = readdirSync(dir).filter((n) => n.endsWith('.restoring'));
  if (leftovers.length > 0) {
    throw new KeelError(
      'conflict',
      `${dir} holds ${leftovers.join(', ')}, left by a restore that did not finish, so its data is partial. Fix: restore the backup again into a new directory (keel restore <file> --data-dir <new dir>) and start Keel on that one.`,
    );
  }
  for (const name of STATE_FILES) {
    const file = join(dir, name);
    // Created here, empty (SQLite treats an empty file as a new database), so it is born 0600.
    closeSync(openSync(file, 'a', 0o600));
    for (const side of ['', ...SIDE_FILES]) if (existsSync(file + side)) chmodSync(file + side, 0o600);
  }
  if (existsSync(join(dir, 'secret.key'))) chmodSync(join(dir, 'secret.key'), 0o600);
  const segments = segmentDir(join(dir, 'log.db'));
  if (existsSync(segments)) {
    chmodSync(segments, 0o700);
    for (const f of readdirSync(segments)) chmodSync(join(segments, f), 0o600);
  }
}
