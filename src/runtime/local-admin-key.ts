/**
 * `keel admin create-key`: mints an API key straight in an embedded data dir, for the operator of
 * the machine that holds it (the dir is 0700, so only Keel's own user or root gets this far). It is
 * the way back in when the admin key is lost; it works whether Keel runs or not (SQLite serialises
 * the writes), and appends a `keys.create` entry to the audit chain like the API does.
 */
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { ApiKeyService } from '../auth/api-keys.js';
import { TenantService } from '../auth/tenants.js';
import { AuditLog } from '../audit/audit-log.js';
import { systemClock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import { openSqliteStore } from '../store/store.js';

export interface LocalKeyInput {
  dataDir: string;
  tenant: string;
  name: string;
  scopes: string[];
}

export interface LocalKey {
  key: string;
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_by: string;
  audit_seq: number;
}

/** Who ran the command, as the audit log names them: the OS account on this machine. */
export function localActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers); the host still says where it came from
  }
  return `local:${user}@${hostname()}`;
}

export async function createLocalKey(input: LocalKeyInput): Promise<LocalKey> {
  const statePath = join(input.dataDir, 'state.db');
  if (!existsSync(statePath)) {
    throw new KeelError('not_found', `${input.dataDir} holds no Keel state (no state.db): give the --data-dir of a Keel that has started at least once`);
  }
  const store = await openSqliteStore(statePath);
  try {
    const clock = systemClock;
    const tenants = new TenantService(store, clock);
    if (!(await tenants.get(input.tenant))) {
      const known = (await tenants.list()).map((t) => t.id).join(', ');
      throw new KeelError('not_found', `tenant "${input.tenant}" does not exist in this data dir (tenants: ${known || 'none'})`);
    }
    const actor = localActor();
    const audit = new AuditLog(store, clock);
    // Written ahead, as the API does: killed between the key and its entry, the note still becomes
    // an "outcome unknown" entry (AuditLog.settleInterrupted) instead of a key nobody audited.
    const pending = await audit.begin({ actor, action: 'keys.create', tenant: input.tenant, target: 'keel admin create-key' });
    let created: Awaited<ReturnType<ApiKeyService['create']>>;
    try {
      created = await new ApiKeyService(store, tenants, clock).create({ tenant: input.tenant, name: input.name, scopes: input.scopes, createdBy: actor });
    } catch (e) {
      if (e instanceof KeelError && e.status < 500) await audit.abandon(pending);
      throw e;
    }
    const info = created.info;
    const view = { id: info.id, tenant: input.tenant, name: info.name, prefix: info.prefix, scopes: info.scopes, created_by: actor };
    const done = { actor, action: 'keys.create', tenant: input.tenant, target: `key/${info.id}`, after: { ...view, via: 'keel admin create-key (on the machine holding the data dir)' } };
    // Undefined when a running Keel settled the note as "outcome unknown" first: the key is still recorded.
    const entry = (await audit.record(done, pending)) ?? (await audit.record(done));
    return { key: created.key, ...view, audit_seq: Number(entry.seq) };
  } finally {
    await store.close();
  }
}
