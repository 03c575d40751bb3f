/**
 * The tamper-evident audit log. Each entry's hash covers its content and the previous entry's
 * hash, so changing, removing or reordering any row breaks the chain at that row. Appends are
 * serialised by the primary key: two writers racing for the same sequence number cannot both win,
 * and the loser retries on the new head.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import { redact } from './redact.js';
import type { AuditLogTable } from './tables.js';

export interface AuditInput {
  actor: string;
  action: string;
  tenant: string;
  target: string;
  before?: unknown;
  after?: unknown;
  sourceIp?: string;
  requestId?: string;
  ok?: boolean;
}

export const GENESIS_HASH = '0'.repeat(64);

type Unhashed = Omit<AuditLogTable, 'hash'>;

export function hashEntry(e: Unhashed): string {
  const canonical = JSON.stringify([
    e.seq,
    e.at,
    e.actor,
    e.action,
    e.tenant_id,
    e.target,
    e.before_json,
    e.after_json,
    e.source_ip,
    e.request_id,
    e.ok,
    e.prev_hash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async record(input: AuditInput): Promise<AuditLogTable> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.store.db.transaction().execute(async (trx) => {
          const head = await trx.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
          const row: Unhashed = {
            seq: Number(head?.seq ?? 0) + 1,
            at: this.clock.now(),
            actor: input.actor,
            action: input.action,
            tenant_id: input.tenant,
            target: input.target,
            before_json: input.before === undefined ? null : JSON.stringify(redact(input.before)),
            after_json: input.after === undefined ? null : JSON.stringify(redact(input.after)),
            source_ip: input.sourceIp ?? '',
            request_id: input.requestId ?? '',
            ok: input.ok === false ? 0 : 1,
            prev_hash: head?.hash ?? GENESIS_HASH,
          };
          const full: AuditLogTable = { ...row, hash: hashEntry(row) };
          await trx.insertInto('audit_log').values(full).execute();
          return full;
        });
      } catch (e) {
        if (attempt < 20 && isUniqueViolation(e)) continue;
        throw e;
      }
    }
  }
}

function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err.code === '23505' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint/.test(err.message ?? '');
}
