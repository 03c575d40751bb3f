/**
 * The tamper-evident audit log. Each entry's hash covers its content and the previous entry's
 * hash, so changing, removing or reordering any row breaks the chain at that row. Appends are
 * serialised by the primary key: two writers racing for the same sequence number cannot both win,
 * and the loser retries on the new head.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import { randomBase62 } from '../core/ids.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { redact } from './redact.js';
import type { AuditLogTable, AuditPendingTable } from './tables.js';

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
  const canonical = JSON.stringify([e.seq, e.at, e.actor, e.action, e.tenant_id, e.target, e.before_json, e.after_json, e.source_ip, e.request_id, e.ok, e.prev_hash]);
  return createHash('sha256').update(canonical).digest('hex');
}

export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * Notes a state-changing request before its handler runs, so that a process stopping between
   * the change and its audit entry still leaves evidence (settleInterrupted). Returns the note's
   * id for `record(…, id)` or `abandon(id)`.
   */
  async begin(input: AuditInput): Promise<string> {
    const id = randomBase62(20);
    await this.store.db
      .insertInto('audit_pending')
      .values({
        id,
        at: this.clock.now(),
        actor: input.actor,
        action: input.action,
        tenant_id: input.tenant,
        target: input.target,
        source_ip: input.sourceIp ?? '',
        request_id: input.requestId ?? '',
      })
      .execute();
    return id;
  }

  async pendingNote(id: string): Promise<AuditPendingTable | undefined> {
    return this.store.db.selectFrom('audit_pending').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The request changed nothing (it was refused before any change): forget its note. */
  async abandon(id: string): Promise<void> {
    await this.store.db.deleteFrom('audit_pending').where('id', '=', id).execute();
  }

  /**
   * Turns notes of requests that never finished (older than `before`, ms) into chained entries
   * whose outcome is unknown. Safe to run on several instances at once: each note is deleted by
   * the transaction that appends its entry, and one whose delete finds nothing is skipped.
   */
  async settleInterrupted(before: number): Promise<number> {
    const stale = await this.store.db.selectFrom('audit_pending').selectAll().where('at', '<', before).orderBy('at').execute();
    let settled = 0;
    for (const p of stale) {
      const entry = await this.record(
        {
          actor: p.actor,
          action: p.action,
          tenant: p.tenant_id,
          target: p.target,
          after: { outcome: 'unknown', reason: 'the process stopped before the request finished: the change may or may not have been made', started_at: new Date(Number(p.at)).toISOString() },
          sourceIp: p.source_ip,
          requestId: p.request_id,
          ok: false,
        },
        p.id,
      );
      if (entry) settled++;
    }
    return settled;
  }

  /**
   * Appends an entry. With `settles`, the pending note of the request is deleted in the same
   * transaction; if another writer settled it first, nothing is appended and undefined returned.
   */
  async record(input: AuditInput): Promise<AuditLogTable>;
  async record(input: AuditInput, settles: string): Promise<AuditLogTable | undefined>;
  async record(input: AuditInput, settles?: string): Promise<AuditLogTable | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.store.db.transaction().execute(async (trx) => {
          if (settles !== undefined && !(await this.settle(trx, settles))) return undefined;
          return this.append(trx, input);
        });
      } catch (e) {
        if (attempt < 20 && isUniqueViolation(e)) continue;
        throw e;
      }
    }
  }

  /**
   * Appends an entry inside the caller's transaction, so the entry and the change it records
   * commit together or not at all (e.g. a membership added by a definitions apply). Two appends
   * racing for the same sequence number make the later transaction fail with a unique violation.
   */
  async recordIn(trx: Transaction<Database>, input: AuditInput): Promise<AuditLogTable> {
    return this.append(trx, input);
  }

  private async append(trx: Transaction<Database>, input: AuditInput): Promise<AuditLogTable> {
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
  }

  private async settle(trx: Transaction<Database>, id: string): Promise<boolean> {
    const r = await trx.deleteFrom('audit_pending').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err.code === '23505' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint/.test(err.message ?? '');
}
