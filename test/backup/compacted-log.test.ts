/**
 * An online backup of a log whose older segments are compacted: the backup carries both the
 * compacted segments and the active one as appended, and the restored log reads back every batch
 * byte for byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupService } from '../../src/backup/backup-service.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { systemClock } from '../../src/core/clock.js';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-event-log.js';
import { openSqliteStore } from '../../src/store/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'keel-backup-compacted-'));
  dirs.push(d);
  return d;
};

async function texts(log: SqliteEventLog): Promise<string[]> {
  const out: string[] = [];
  let after = 0;
  for (;;) {
    const got = await log.read(0, after, { maxBatches: 25 });
    if (got.length === 0) return out;
    out.push(...got.map((b) => Buffer.from(b.data).toString('utf8')));
    after = got[got.length - 1]!.position;
  }
}

describe('backup of a compacted log', () => {
  it('restores compacted segments and the active one, every batch byte for byte', async () => {
    const dataDir = temp();
    const store = await openSqliteStore(join(dataDir, 'state.db'));
    const options = { segmentBytes: 4 * 1024, sealIdleMs: 60_000, sealMinBytes: 1 };
    const log = await SqliteEventLog.open({ path: join(dataDir, 'log.db'), ...options });
    const sent: string[] = [];
    try {
      for (let b = 0; b < 40; b++) {
        const text = `${Array.from({ length: 10 }, (_, i) => JSON.stringify({ b, i, trace_id: (b * 1000 + i).toString(16).padStart(16, '0') })).join('\n')}\n`;
        sent.push(text);
        await log.append({ tenant: 't', data: Buffer.from(text), count: 10, minTs: b, maxTs: b, receivedAt: b });
      }
      // Everything but the active segment compacted (it is sealed only when full: 60 s idle).
      const deadline = Date.now() + 30_000;
      for (;;) {
        const s = await log.stats();
        if (s.uncompactedBytes! < 4 * 1024 + 1000) break;
        if (Date.now() > deadline) throw new Error(`not compacted: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const backups = new BackupService({ dataDir, store, clock: systemClock, version: 'test', sealedSummary: async () => ({ keyIdsInUse: [], values: 0 }) });
      const created = await backups.create('tester');
      const names = created.manifest.files.map((f) => f.name);
      expect(names.filter((n) => n.endsWith('.cseg')).length).toBeGreaterThanOrEqual(2);
      expect(names.filter((n) => n.endsWith('.seg')).length).toBeGreaterThanOrEqual(1);
      const restoredDir = join(temp(), 'restored');
      await restoreBackup(created.path, restoredDir);
      created.cleanup();
      const restored = await SqliteEventLog.open({ path: join(restoredDir, 'log.db'), ...options });
      try {
        expect(await texts(restored)).toEqual(sent);
        // The restored log goes on appending after what it holds.
        await restored.append({ tenant: 't', data: Buffer.from('{"after":1}\n'), count: 1, minTs: 0, maxTs: 0, receivedAt: 0 });
        expect((await texts(restored)).slice(-2)).toEqual([sent[39], '{"after":1}\n']);
      } finally {
        await restored.close();
      }
    } finally {
      await log.close();
      await store.close();
    }
  });
});
