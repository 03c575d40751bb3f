/** HTTP routes of backups: take one (streamed to the caller), list the ones taken. */
import { createReadStream } from 'node:fs';
import { defineRoute, SENT, type AnyRoute } from '../api/route.js';
import type { BackupRecord, BackupService } from './backup-service.js';
import { backupListSchema } from './schemas.js';

export function backupView(b: BackupRecord) {
  return {
    id: b.id,
    at: new Date(b.at).toISOString(),
    bytes: b.bytes,
    sha256: b.sha256,
    actor: b.actor,
    files: b.files,
    duration_ms: b.durationMs,
  };
}

export function backupRoutes(deps: { backups: BackupService }): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/backups',
      summary: 'Take an online backup of the embedded data dir; the answer is the backup file',
      description:
        'SQLite online backup of state.db and log.db while Keel keeps running, in one file (`application/octet-stream`, `X-Keel-Backup-Sha256`). The sealing key is not included. Restore with `keel restore <file> --data-dir <new dir>`.',
      tags: ['backups'],
      permission: 'system:manage',
      audit: 'backups.create',
      timeoutMs: 6 * 3_600_000,
      responses: [
        { status: 200, description: 'The backup file', contentType: 'application/octet-stream' },
        { status: 409, description: 'Not the embedded mode, or a backup is already running' },
      ],
      handler: async ({ principal, reply, audit }) => {
        const b = await deps.backups.create(principal.actor);
        audit({ target: `backup/${b.record.id}`, after: backupView(b.record) });
        const stream = createReadStream(b.path);
        stream.on('close', b.cleanup);
        void reply
          .code(200)
          .header('content-type', 'application/octet-stream')
          .header('content-length', String(b.record.bytes))
          .header('content-disposition', `attachment; filename="keel-${b.record.id}.backup"`)
          .header('x-keel-backup-id', b.record.id)
          .header('x-keel-backup-sha256', b.record.sha256)
          .send(stream);
        return SENT;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/backups',
      summary: 'Backups taken, newest first',
      tags: ['backups'],
      permission: 'compliance:read',
      responses: [{ status: 200, description: 'Backups', schema: backupListSchema }],
      handler: async () => ({ backups: (await deps.backups.list()).map(backupView) }),
    }),
  ];
}
