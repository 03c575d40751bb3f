/**
 * Leader-only work (alert evaluation, escalation timers, retention): exactly one process runs each
 * named leadership at a time.
 *
 * Distributed: a PostgreSQL session advisory lock per name, held on one dedicated connection.
 * Standbys try the lock every `pollMs`. The holder checks its connection on the same period; when
 * the connection (and so the lock) is lost, the leader's work is aborted. A new holder waits
 * `graceMs` (two polls) before starting, so a deposed leader has noticed its loss before the new
 * one acts; writes that must never come from a deposed leader are fenced inside their transaction
 * by `lease.assertHeld(trx)` (the lock must be visible in pg_locks for this process's session).
 * A leader that dies (kill -9) closes its socket, PostgreSQL releases the lock at once, and a
 * standby takes over within pollMs + graceMs. Each tenure is recorded in `leader_tenures`.
 */
import { hostname } from 'node:os';
import { sql, type Kysely, type Transaction } from 'kysely';
import pg from 'pg';
import { KeelError } from '../core/errors.js';
import { randomBase62 } from '../core/ids.js';
import { pause } from '../core/pause.js';
import type { LeaderLease } from '../core/context.js';
import type { Database } from '../store/schema.js';
import { advisoryKey, type PostgresHandle } from '../store/postgres.js';
import type { Logger } from '../telemetry/logger.js';

export type LeaderWork = (lease: LeaderLease) => Promise<void>;

export interface Leadership {
  readonly holder: string;
  run(name: string, fn: LeaderWork): void;
  /** Names this process leads right now. */
  held(): string[];
  /** Every leadership registered here. */
  names(): string[];
  /** True while the leadership machinery can reach its store (readiness). */
  healthy(): boolean;
  stop(): Promise<void>;
}

export function newHolderId(role: string): string {
  return `${role}@${hostname()}:${process.pid}:${randomBase62(4)}`;
}

const RESTART_PAUSE_MS = 1_000;

/** Runs `fn` for one tenure: restarted after a pause if it throws, until the lease ends. */
async function runTenure(name: string, fn: LeaderWork, lease: LeaderLease, logger: Logger): Promise<void> {
  while (!lease.signal.aborted) {
    try {
      await fn(lease);
      return;
    } catch (err) {
      if (lease.signal.aborted) return;
      logger.error({ err, leadership: name }, 'leader work failed; starting it again');
      await pause(RESTART_PAUSE_MS, lease.signal);
    }
  }
}

/** The embedded default: this process is the only one, so it always leads. */
export class LocalLeadership implements Leadership {
  private readonly controller = new AbortController();
  private readonly registered = new Set<string>();
  private readonly tenures: Promise<void>[] = [];

  constructor(
    readonly holder: string,
    private readonly logger: Logger,
  ) {}

  run(name: string, fn: LeaderWork): void {
    this.registered.add(name);
    const lease: LeaderLease = {
      signal: this.controller.signal,
      holder: this.holder,
      assertHeld: async () => {
        if (this.controller.signal.aborted) throw new KeelError('unavailable', `leadership ${name} ended: Keel is stopping`);
      },
    };
    this.tenures.push(runTenure(name, fn, lease, this.logger));
  }

  held(): string[] {
    return this.controller.signal.aborted ? [] : [...this.registered];
  }

  names(): string[] {
    return [...this.registered];
  }

  healthy(): boolean {
    return true;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.all(this.tenures);
  }
}

interface Entry {
  name: string;
  fn: LeaderWork;
  key: string;
  /** Set while this process holds the lock. */
  tenure?: { id: number; controller: AbortController; acquiredAt: number; running?: Promise<void>; startTimer?: NodeJS.Timeout };
}

export interface PostgresLeadershipOptions {
  handle: PostgresHandle;
  holder: string;
  logger: Logger;
  /** How often standbys try the lock and the holder checks its connection. */
  pollMs: number;
  /** Wait after winning the lock before starting the work (default two polls). */
  graceMs?: number;
}

export class PostgresLeadership implements Leadership {
  readonly holder: string;
  private readonly entries = new Map<string, Entry>();
  private client: pg.Client | undefined;
  private clientPid = 0;
  private connecting: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private ticking = false;
  private stopped = false;
  private connected = false;
  private readonly scope: string;

  constructor(private readonly o: PostgresLeadershipOptions) {
    this.holder = o.holder;
    this.scope = o.handle.schema ?? '';
    // Connect at once (readiness reports the lock connection), and keep it checked.
    this.timer = setInterval(() => void this.tick(), this.o.pollMs);
    this.timer.unref();
    void this.tick();
  }

  run(name: string, fn: LeaderWork): void {
    if (this.entries.has(name)) throw new Error(`leadership ${name} is already registered`);
    this.entries.set(name, { name, fn, key: advisoryKey(this.scope, `leader:${name}`) });
    void this.tick();
  }

  held(): string[] {
    return [...this.entries.values()].filter((e) => e.tenure && !e.tenure.controller.signal.aborted).map((e) => e.name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  healthy(): boolean {
    return this.connected;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.o.handle.clientConfig, application_name: `keel-leader ${this.holder}` });
    client.on('error', (err) => {
      if (this.client === client) this.lose(`the lock connection failed: ${err.message}`);
    });
    client.on('end', () => {
      if (this.client === client) this.lose('the lock connection closed');
    });
    await client.connect();
    // Ask the server to notice a vanished peer quickly (a leader whose machine died).
    await client.query("SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3").catch(() => undefined);
    const r = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    this.client = client;
    this.clientPid = Number(r.rows[0]!.pid);
    this.connected = true;
  }

  /** The lock connection is gone: every leadership it held is lost. */
  private lose(reason: string): void {
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    client?.end().catch(() => undefined);
    for (const e of this.entries.values()) {
      if (!e.tenure) continue;
      this.o.logger.warn({ leadership: e.name, reason }, 'leadership lost');
      clearTimeout(e.tenure.startTimer);
      e.tenure.controller.abort();
      e.tenure = undefined;
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      if (!this.client) {
        this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
        try {
          await this.connecting;
        } catch (err) {
          this.connected = false;
          this.o.logger.warn({ err }, 'leadership: cannot reach PostgreSQL; retrying');
          return;
        }
      }
      const client = this.client!;
      const now = Date.now();
      for (const e of this.entries.values()) {
        if (this.stopped) return;
        if (e.tenure) {
          await client.query('UPDATE leader_tenures SET beat_at = $1 WHERE id = $2', [now, e.tenure.id]);
          continue;
        }
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [e.key]);
        if (!r.rows[0]!.ok) continue;
        const t = await client.query<{ id: number }>(
          'INSERT INTO leader_tenures (name, holder, started_at, beat_at) VALUES ($1, $2, $3, $3) RETURNING id',
          [e.name, this.holder, now],
        );
        this.begin(e, Number(t.rows[0]!.id), now);
      }
      if (this.entries.size === 0) await client.query('SELECT 1');
    } catch (err) {
      if (this.client) this.lose(`the lock connection failed: ${(err as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  private begin(e: Entry, id: number, now: number): void {
    const controller = new AbortController();
    const tenure: NonNullable<Entry['tenure']> = { id, controller, acquiredAt: now };
    e.tenure = tenure;
    this.o.logger.info({ leadership: e.name, holder: this.holder }, 'leadership acquired');
    const lease: LeaderLease = {
      signal: controller.signal,
      holder: this.holder,
      assertHeld: (db) => this.assertHeld(e, controller.signal, db),
    };
    tenure.startTimer = setTimeout(() => {
      if (controller.signal.aborted) return;
      tenure.running = runTenure(e.name, e.fn, lease, this.o.logger);
    }, this.o.graceMs ?? 2 * this.o.pollMs);
  }

  private async assertHeld(e: Entry, signal: AbortSignal, db?: Kysely<Database> | Transaction<Database>): Promise<void> {
    const lost = () => new KeelError('unavailable', `this process no longer leads ${e.name}`);
    if (signal.aborted || !this.client) throw lost();
    if (!db) return;
    const key = BigInt(e.key);
    const unsigned = BigInt.asUintN(64, key);
    const classid = Number(unsigned >> 32n);
    const objid = Number(unsigned & 0xffffffffn);
    const r = await sql<{ n: number }>`
      SELECT count(*) AS n FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND pid = ${this.clientPid}
        AND classid = ${classid}::bigint::oid AND objid = ${objid}::bigint::oid AND objsubid = 1`.execute(db);
    if (Number(r.rows[0]?.n ?? 0) === 0) throw lost();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const running: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      if (!e.tenure) continue;
      clearTimeout(e.tenure.startTimer);
      e.tenure.controller.abort();
      if (e.tenure.running) running.push(e.tenure.running);
    }
    await Promise.all(running);
    while (this.ticking) await new Promise((r) => setTimeout(r, 10));
    const client = this.client;
    if (client) {
      const now = Date.now();
      for (const e of this.entries.values()) {
        if (!e.tenure) continue;
        await client.query('UPDATE leader_tenures SET ended_at = $1, beat_at = $1 WHERE id = $2', [now, e.tenure.id]).catch(() => undefined);
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [e.key]).catch(() => undefined);
        e.tenure = undefined;
      }
      this.client = undefined;
      await client.end().catch(() => undefined);
    }
  }
}

/** For roles that never lead (ingest, worker, api): leader work registered here never runs. */
export class NoLeadership implements Leadership {
  constructor(readonly holder: string) {}
  run(): void {}
  held(): string[] {
    return [];
  }
  names(): string[] {
    return [];
  }
  healthy(): boolean {
    return true;
  }
  async stop(): Promise<void> {}
}
