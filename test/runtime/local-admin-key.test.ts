/**
 * `keel admin create-key` writes its audit note ahead of the key, as the API does: a process killed
 * after the key is stored but before its entry is appended still leaves evidence, which the next
 * start settles as a "keys.create" entry whose outcome is unknown.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiKeyService } from '../../src/auth/api-keys.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { systemClock } from '../../src/core/clock.js';
import { createLocalKey, localActor } from '../../src/runtime/local-admin-key.js';
import { openSqliteStore } from '../../src/store/store.js';
import { startTestKeel } from '../helpers/keel.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('keel admin create-key and a crash', () => {
  it('dying between the key and its audit entry leaves a note settled as outcome unknown', async () => {
    const t = await startTestKeel({}, { keepDataDir: true });
    await t.close();
    try {
      const original = ApiKeyService.prototype.create;
      vi.spyOn(ApiKeyService.prototype, 'create').mockImplementation(async function (this: ApiKeyService, input) {
        await original.call(this, input);
        throw new Error('process killed here');
      });
      await expect(createLocalKey({ dataDir: t.dataDir, tenant: 'default', name: 'crashed', scopes: ['admin'] })).rejects.toThrow('process killed here');

      const store = await openSqliteStore(join(t.dataDir, 'state.db'));
      try {
        const keys = await store.db.selectFrom('api_keys').select(['name']).where('name', '=', 'crashed').execute();
        expect(keys).toHaveLength(1);
        expect(await new AuditLog(store, systemClock).settleInterrupted(Date.now() + 1)).toBe(1);
        const entries = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'keys.create').where('actor', '=', localActor()).execute();
        expect(entries).toHaveLength(1);
        expect(JSON.parse(entries[0]!.after_json ?? 'null')).toMatchObject({ outcome: 'unknown' });
        expect(entries[0]!.ok).toBe(0);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(t.dataDir, { recursive: true, force: true });
    }
  });

  it('a refused request (unknown scope) leaves no note behind', async () => {
    const t = await startTestKeel({}, { keepDataDir: true });
    await t.close();
    try {
      await expect(createLocalKey({ dataDir: t.dataDir, tenant: 'default', name: 'bad', scopes: ['root'] })).rejects.toThrow(/scope/);
      const store = await openSqliteStore(join(t.dataDir, 'state.db'));
      try {
        expect(await store.db.selectFrom('audit_pending').selectAll().execute()).toEqual([]);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});
